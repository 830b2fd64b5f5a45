import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OperationError } from '@ordo/core';
import { Vm, Volume } from '../src/entities/index.js';
import { gibibyte } from '../src/datacenter.js';
import { vmAttachDisk, vmCreate, vmDelete, vmDetachDisk, vmMigrate, vmPowerOff, vmPowerOn, volumeCreate } from '../src/operations/index.js';
import { expectAgreement, expectRejectedUnchanged, freshControlPlane, type Fixture } from './control-plane-fixture.js';
import { controlPlaneSpecification, datacenter, host, vm, type ControlPlaneSpecification } from './control-plane-specification.js';

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

/** Agreement of entities, volume files and hosts, for a scenario's check. */
async function expectScenarioAgreement(store: Fixture['store']): Promise<void> {
  await expectAgreement({ store, hypervisor: given.hypervisor, storageRoot: given.storageRoot });
}

async function createVm(name: string, memoryMiB: number, vcpus = 2, hostId?: string): Promise<string> {
  const input = { name, vcpus, memoryMiB, ...(hostId === undefined ? {} : { hostId }) };
  return (await fixture.runtime.run(vmCreate, input)).value.vmId;
}

describe('vm.powerOn', () => {
  it('places an unplaced VM on the host with the most free memory and starts it', async () => {
    await given.spec
      .given([...datacenter, vm('a', { memoryMiB: 4096 })])
      .when(vmPowerOn, { vmId: 'a' })
      .thenCommits({ changes: [{ op: 'update', kind: 'vm', id: 'a', data: { power: 'on', hostId: 'h1' } }], value: { hostId: 'h1' } }, async ({ store }) => {
        expect(store.get(Vm, 'a')?.data).toMatchObject({ power: 'on', hostId: 'h1' });
        expect(given.hypervisor.domain('h1', 'a')?.state).toBe('running');
        await expectScenarioAgreement(store);
      });
  });

  it('INVALID_STATE when already on', async () => {
    await given.spec
      .given([...datacenter, vm('a', { memoryMiB: 1024, hostId: 'h1', power: 'on' })])
      .when(vmPowerOn, { vmId: 'a' })
      .thenFails('INVALID_STATE', { step: 'plan', entity: { kind: 'vm', id: 'a' } });
  });

  it('INSUFFICIENT_HOST_MEMORY and INSUFFICIENT_HOST_CPU on its host, with requested and available', async () => {
    const filler = vm('filler', { memoryMiB: 6144, hostId: 'h3', power: 'on' });
    await given.spec
      .given([...datacenter, filler, vm('big', { memoryMiB: 4096, hostId: 'h3' })])
      .when(vmPowerOn, { vmId: 'big' })
      .thenFails('INSUFFICIENT_HOST_MEMORY', { details: { requested: 4096, available: 2048, host: { kind: 'host', id: 'h3' } }, message: 'host h3 has 2048 MiB free, VM big needs 4096 MiB' });
    await given.spec
      .given([...datacenter, filler, vm('wide', { memoryMiB: 1024, vcpus: 7, hostId: 'h3' })])
      .when(vmPowerOn, { vmId: 'wide' })
      .thenFails('INSUFFICIENT_HOST_CPU', { details: { requested: 7, available: 6 } });
  });

  it('HOST_IN_MAINTENANCE for a VM placed on a host in maintenance', async () => {
    const inMaintenance = [...datacenter.filter((entity) => entity.id !== 'h2'), host('h2', { cpuThreads: 16, memoryMiB: 32_768, maintenance: true })];
    await given.spec
      .given([...inMaintenance, vm('a', { memoryMiB: 1024, vcpus: 1, hostId: 'h2' })])
      .when(vmPowerOn, { vmId: 'a' })
      .thenFails('HOST_IN_MAINTENANCE');
  });

  it('NO_HOST_AVAILABLE gives the reason for every host', async () => {
    await given.spec
      .given([...datacenter, vm('huge', { memoryMiB: 100_000, vcpus: 4 })])
      .when(vmPowerOn, { vmId: 'huge' })
      .thenFails('NO_HOST_AVAILABLE', {}, ({ error }) => {
        const reasons = (error as OperationError).details?.['reasons'] as { code: string; host: { id: string } }[];
        expect(reasons.map((reason) => reason.code)).toEqual(['INSUFFICIENT_HOST_MEMORY', 'INSUFFICIENT_HOST_MEMORY', 'INSUFFICIENT_HOST_MEMORY']);
        expect(new Set(reasons.map((reason) => reason.host.id))).toEqual(new Set(['h1', 'h2', 'h3']));
      });
  });
});

describe('vm.powerOff', () => {
  it('stops a running VM and refuses one that is off', async () => {
    await given.spec
      .given([...datacenter, vm('a', { memoryMiB: 1024, hostId: 'h1', power: 'on' })])
      .when(vmPowerOff, { vmId: 'a' })
      .thenCommits({ changes: [{ op: 'update', id: 'a', data: { power: 'off' } }] }, async ({ store }) => {
        expect(store.get(Vm, 'a')?.data.power).toBe('off');
        await expectScenarioAgreement(store);
      });
    await given.spec
      .given([...datacenter, vm('a', { memoryMiB: 1024, hostId: 'h1' })])
      .when(vmPowerOff, { vmId: 'a' })
      .thenFails('INVALID_STATE');
  });
});

describe('vm.attachDisk and vm.detachDisk', () => {
  it('attach, refuse a second attach, detach, refuse a second detach', async () => {
    const { runtime, dc, store } = fixture;
    const vmId = await createVm('a', 1024, 1, dc.hosts.h1);
    const other = await createVm('b', 1024, 1, dc.hosts.h1);
    const volumeId = (await runtime.run(volumeCreate, { name: 'v', containerId: dc.containers.fast, sizeBytes: gibibyte })).value;
    await runtime.run(vmAttachDisk, { vmId, volumeId });
    expect(store.get(Vm, vmId)?.data.disks).toEqual([volumeId]);
    expect(fixture.hypervisor.domain(dc.hosts.h1, vmId)?.spec.disks).toEqual([volumeId]);
    const error = await expectRejectedUnchanged(fixture, 'VOLUME_ALREADY_ATTACHED', () => runtime.run(vmAttachDisk, { vmId: other, volumeId }));
    expect(error.details).toMatchObject({ conflicting: { kind: 'vm', id: vmId } });
    await expectRejectedUnchanged(fixture, 'VOLUME_NOT_ATTACHED', () => runtime.run(vmDetachDisk, { vmId: other, volumeId }));
    await runtime.run(vmDetachDisk, { vmId, volumeId });
    expect(store.get(Volume, volumeId)?.data.attachment).toBeUndefined();
    expect(store.get(Vm, vmId)?.data.disks).toEqual([]);
    await expectRejectedUnchanged(fixture, 'VOLUME_NOT_ATTACHED', () => runtime.run(vmDetachDisk, { vmId, volumeId }));
    await expectRejectedUnchanged(fixture, 'VM_NOT_FOUND', () => runtime.run(vmAttachDisk, { vmId: 'nope', volumeId }));
    await expectAgreement(fixture);
  });
});

describe('vm.migrate', () => {
  it('moves a running VM; SAME_HOST; INSUFFICIENT_HOST_MEMORY on the target', async () => {
    const { runtime, dc } = fixture;
    const vmId = await createVm('a', 4096, 2, dc.hosts.h1);
    await runtime.run(vmPowerOn, { vmId });
    await runtime.run(vmMigrate, { vmId, targetHostId: dc.hosts.h2 });
    expect(fixture.hypervisor.locate(vmId)).toEqual([dc.hosts.h2]);
    expect(fixture.hypervisor.domain(dc.hosts.h2, vmId)?.state).toBe('running');
    await expectAgreement(fixture);
    await expectRejectedUnchanged(fixture, 'SAME_HOST', () => runtime.run(vmMigrate, { vmId, targetHostId: dc.hosts.h2 }));
    await runtime.run(vmPowerOn, { vmId: await createVm('filler', 6144, 1, dc.hosts.h3) });
    const error = await expectRejectedUnchanged(fixture, 'INSUFFICIENT_HOST_MEMORY', () => runtime.run(vmMigrate, { vmId, targetHostId: dc.hosts.h3 }));
    expect(error.details).toMatchObject({ requested: 4096, available: 2048, target: { kind: 'host', id: dc.hosts.h3 } });
  });
});

describe('vm.delete', () => {
  it('INVALID_STATE while on; deleting releases its addresses and detaches its volumes', async () => {
    const { runtime, dc, store } = fixture;
    const created = await runtime.run(vmCreate, {
      name: 'a',
      vcpus: 1,
      memoryMiB: 1024,
      hostId: dc.hosts.h1,
      newDisks: [{ name: 'a-root', containerId: dc.containers.fast, sizeBytes: gibibyte }],
      nics: [{ subnetId: dc.subnets.prod, ip: '10.0.0.77' }],
    });
    const { vmId, volumeIds } = created.value;
    await runtime.run(vmPowerOn, { vmId });
    await expectRejectedUnchanged(fixture, 'INVALID_STATE', () => runtime.run(vmDelete, { vmId }));
    await runtime.run(vmPowerOff, { vmId });
    const deleted = await runtime.run(vmDelete, { vmId });
    expect(deleted.value).toEqual({ releasedIps: ['10.0.0.77'], detachedVolumes: volumeIds });
    expect(store.get(Vm, vmId)).toBeUndefined();
    expect(store.get(Volume, volumeIds[0]!)?.data.attachment).toBeUndefined();
    expect(fixture.hypervisor.locate(vmId)).toEqual([]);
    // The address is free again.
    await runtime.run(vmCreate, { name: 'b', vcpus: 1, memoryMiB: 1024, nics: [{ subnetId: dc.subnets.prod, ip: '10.0.0.77' }] });
    await expectAgreement(fixture);
  });
});
