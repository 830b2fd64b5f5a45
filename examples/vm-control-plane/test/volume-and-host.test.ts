import { statSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OperationError } from '@ordo/core';
import { givenEntity } from '@ordo/core/testing';
import { listVolumeFiles, volumePath } from '@ordo/adapters/storage';
import { Host, StorageContainer, Volume } from '../src/entities/index.js';
import { gibibyte } from '../src/datacenter.js';
import {
  hostEnterMaintenance,
  hostExitMaintenance,
  vmCreate,
  vmPowerOn,
  volumeCreate,
  volumeDelete,
  volumeResize,
} from '../src/operations/index.js';
import { expectAgreement, expectRejectedUnchanged, freshControlPlane, type Fixture } from './control-plane-fixture.js';
import { controlPlaneSpecification, datacenter, vm, volume, type ControlPlaneSpecification } from './control-plane-specification.js';

let fixture: Fixture;
let given: ControlPlaneSpecification;
beforeEach(async () => {
  fixture = await freshControlPlane();
  given = controlPlaneSpecification();
});
afterEach(async () => {
  await fixture.cleanup();
  given.cleanup();
});

describe('volume.create, volume.resize, volume.delete', () => {
  it('creates a sparse file of the size, grows it, deletes it', async () => {
    const { runtime, dc, storageRoot } = fixture;
    const volumeId = (await runtime.run(volumeCreate, { name: 'v', containerId: dc.containers.small, sizeBytes: 2 * gibibyte })).value;
    const path = volumePath(storageRoot, dc.containers.small, volumeId);
    expect(statSync(path).size).toBe(2 * gibibyte);
    await runtime.run(volumeResize, { volumeId, sizeBytes: 3 * gibibyte });
    expect(statSync(path).size).toBe(3 * gibibyte);
    await expectRejectedUnchanged(fixture, 'VOLUME_SHRINK_REFUSED', () => runtime.run(volumeResize, { volumeId, sizeBytes: gibibyte }));
    await expectAgreement(fixture);
    await runtime.run(volumeDelete, { volumeId });
    expect(await listVolumeFiles(storageRoot)).toEqual([]);
    expect(fixture.store.get(Volume, volumeId)).toBeUndefined();
  });

  it('CONTAINER_FULL with requested and available bytes, also for a resize', async () => {
    const withVolume = given.spec.given([...datacenter, volume('v', { containerId: 'small', sizeBytes: 15 * gibibyte })]);
    await withVolume.when(volumeCreate, { name: 'w', containerId: 'small', sizeBytes: 6 * gibibyte }).thenFails('CONTAINER_FULL', {
      details: { requested: 6 * gibibyte, available: 5 * gibibyte, container: { kind: 'storageContainer', id: 'small' } },
      message: 'storage container small has 5 GiB free, 6 GiB requested',
    });
    await withVolume.when(volumeResize, { volumeId: 'v', sizeBytes: 21 * gibibyte }).thenFails('CONTAINER_FULL');
  });

  it('VOLUME_IN_USE names the VM', async () => {
    await given.spec
      .given([...datacenter, vm('a', { vcpus: 1, memoryMiB: 512, disks: ['a-root'] }), volume('a-root', { containerId: 'fast', sizeBytes: gibibyte, vmId: 'a' })])
      .when(volumeDelete, { volumeId: 'a-root' })
      .thenFails('VOLUME_IN_USE', { details: { conflicting: { kind: 'vm', id: 'a' } } });
  });

  it('prepare vetoes what the file system cannot hold (real statfs), writing nothing', async () => {
    const exabyte = 2 ** 52;
    await given.spec
      .given([...datacenter, givenEntity(StorageContainer, 'thick', { name: 'thick', maxCapacityBytes: exabyte, thin: false })])
      .when(volumeCreate, { name: 'huge', containerId: 'thick', sizeBytes: 2 ** 51 })
      .thenFails('INSUFFICIENT_DISK_SPACE', { step: 'prepare', adapter: 'storage', details: { requested: 2 ** 51 } }, ({ error }) => {
        expect(error).toBeInstanceOf(OperationError);
        expect(((error as OperationError).details as { available: number }).available).toBeGreaterThan(0);
      });
  });

  it('prepare vetoes a VM on an unreachable host (hypervisor), writing nothing', async () => {
    given.hypervisor.setReachable('h2', false);
    await given.spec
      .given(datacenter)
      .when(vmCreate, { name: 'a', vcpus: 1, memoryMiB: 512, hostId: 'h2' })
      .thenFails('HOST_UNREACHABLE', { step: 'prepare', adapter: 'hypervisor', entity: { kind: 'vm' } });
  });
});

describe('host.enterMaintenance', () => {
  it('HOST_HAS_RUNNING_VMS lists them; an idle host enters and leaves maintenance', async () => {
    const { runtime, dc, store } = fixture;
    const vm = await runtime.run(vmCreate, { name: 'a', vcpus: 1, memoryMiB: 512, hostId: dc.hosts.h2 });
    await runtime.run(vmPowerOn, { vmId: vm.value.vmId });
    const error = await expectRejectedUnchanged(fixture, 'HOST_HAS_RUNNING_VMS', () => runtime.run(hostEnterMaintenance, { hostId: dc.hosts.h2 }));
    expect(error.details).toMatchObject({ running: [{ kind: 'vm', id: vm.value.vmId, name: 'a' }] });
    await runtime.run(hostEnterMaintenance, { hostId: dc.hosts.h3 });
    expect(store.get(Host, dc.hosts.h3)?.data.maintenance).toBe(true);
    await runtime.run(hostExitMaintenance, { hostId: dc.hosts.h3 });
    expect(store.get(Host, dc.hosts.h3)?.data.maintenance).toBe(false);
    await expectRejectedUnchanged(fixture, 'HOST_NOT_FOUND', () => runtime.run(hostEnterMaintenance, { hostId: 'nope' }));
  });
});
