import { statSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OperationError } from '@ordo/core';
import { listVolumeFiles, volumePath } from '@ordo/adapters/storage';
import { Host, Volume } from '../src/entities/index.js';
import { gibibyte } from '../src/datacenter.js';
import {
  hostEnterMaintenance,
  hostExitMaintenance,
  storageContainerCreate,
  vmCreate,
  vmPowerOn,
  volumeCreate,
  volumeDelete,
  volumeResize,
} from '../src/operations/index.js';
import { expectAgreement, expectRejectedUnchanged, freshControlPlane, type Fixture } from './control-plane-fixture.js';

let fixture: Fixture;
beforeEach(async () => {
  fixture = await freshControlPlane();
});
afterEach(async () => {
  await fixture.cleanup();
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
    const { runtime, dc } = fixture;
    const volumeId = (await runtime.run(volumeCreate, { name: 'v', containerId: dc.containers.small, sizeBytes: 15 * gibibyte })).value;
    const error = await expectRejectedUnchanged(fixture, 'CONTAINER_FULL', () =>
      runtime.run(volumeCreate, { name: 'w', containerId: dc.containers.small, sizeBytes: 6 * gibibyte }),
    );
    expect(error.details).toMatchObject({ requested: 6 * gibibyte, available: 5 * gibibyte, container: { kind: 'storageContainer', id: dc.containers.small } });
    expect(error.message).toBe('storage container small has 5 GiB free, 6 GiB requested');
    await expectRejectedUnchanged(fixture, 'CONTAINER_FULL', () => runtime.run(volumeResize, { volumeId, sizeBytes: 21 * gibibyte }));
  });

  it('VOLUME_IN_USE names the VM', async () => {
    const { runtime, dc } = fixture;
    const created = await runtime.run(vmCreate, { name: 'a', vcpus: 1, memoryMiB: 512, newDisks: [{ name: 'a-root', containerId: dc.containers.fast, sizeBytes: gibibyte }] });
    const error = await expectRejectedUnchanged(fixture, 'VOLUME_IN_USE', () => runtime.run(volumeDelete, { volumeId: created.value.volumeIds[0]! }));
    expect(error.details).toMatchObject({ conflicting: { kind: 'vm', id: created.value.vmId } });
  });

  it('prepare vetoes what the file system cannot hold (real statfs), writing nothing', async () => {
    const { runtime } = fixture;
    const exabyte = 2 ** 52;
    const thick = (await runtime.run(storageContainerCreate, { name: 'thick', maxCapacityBytes: exabyte, thin: false })).value;
    const error = await expectRejectedUnchanged(fixture, 'INSUFFICIENT_DISK_SPACE', () => runtime.run(volumeCreate, { name: 'huge', containerId: thick, sizeBytes: 2 ** 51 }));
    expect(error).toBeInstanceOf(OperationError);
    expect(error).toMatchObject({ step: 'prepare', adapter: 'storage', details: { requested: 2 ** 51 } });
    expect((error.details as { available: number }).available).toBeGreaterThan(0);
  });

  it('prepare vetoes a VM on an unreachable host (hypervisor), writing nothing', async () => {
    const { runtime, dc, hypervisor } = fixture;
    hypervisor.setReachable(dc.hosts.h2, false);
    const error = await expectRejectedUnchanged(fixture, 'HOST_UNREACHABLE', () => runtime.run(vmCreate, { name: 'a', vcpus: 1, memoryMiB: 512, hostId: dc.hosts.h2 }));
    expect(error).toMatchObject({ step: 'prepare', adapter: 'hypervisor', entity: { kind: 'vm' } });
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
