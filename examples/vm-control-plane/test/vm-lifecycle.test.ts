import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Vm, Volume } from '../src/entities/index.js';
import { gibibyte } from '../src/datacenter.js';
import { hostEnterMaintenance, vmAttachDisk, vmCreate, vmDelete, vmDetachDisk, vmMigrate, vmPowerOff, vmPowerOn, volumeCreate } from '../src/operations/index.js';
import { expectAgreement, expectRejectedUnchanged, freshControlPlane, type Fixture } from './control-plane-fixture.js';

let fixture: Fixture;
beforeEach(async () => {
  fixture = await freshControlPlane();
});
afterEach(async () => {
  await fixture.cleanup();
});

async function createVm(name: string, memoryMiB: number, vcpus = 2, hostId?: string): Promise<string> {
  const input = { name, vcpus, memoryMiB, ...(hostId === undefined ? {} : { hostId }) };
  return (await fixture.runtime.run(vmCreate, input)).value.vmId;
}

describe('vm.powerOn', () => {
  it('places an unplaced VM on the host with the most free memory and starts it', async () => {
    const vmId = await createVm('a', 4096);
    const { value } = await fixture.runtime.run(vmPowerOn, { vmId });
    expect(value.hostId).toBe(fixture.dc.hosts.h1);
    expect(fixture.store.get(Vm, vmId)?.data).toMatchObject({ power: 'on', hostId: fixture.dc.hosts.h1 });
    expect(fixture.hypervisor.domain(fixture.dc.hosts.h1, vmId)?.state).toBe('running');
    await expectAgreement(fixture);
  });

  it('INVALID_STATE when already on', async () => {
    const vmId = await createVm('a', 1024);
    await fixture.runtime.run(vmPowerOn, { vmId });
    const error = await expectRejectedUnchanged(fixture, 'INVALID_STATE', () => fixture.runtime.run(vmPowerOn, { vmId }));
    expect(error).toMatchObject({ step: 'plan', entity: { kind: 'vm', id: vmId } });
  });

  it('INSUFFICIENT_HOST_MEMORY and INSUFFICIENT_HOST_CPU on its host, with requested and available', async () => {
    const { runtime, dc } = fixture;
    await runtime.run(vmPowerOn, { vmId: await createVm('filler', 6144, 2, dc.hosts.h3) });
    const big = await createVm('big', 4096, 2, dc.hosts.h3);
    const memory = await expectRejectedUnchanged(fixture, 'INSUFFICIENT_HOST_MEMORY', () => runtime.run(vmPowerOn, { vmId: big }));
    expect(memory.details).toMatchObject({ requested: 4096, available: 2048, host: { kind: 'host', id: dc.hosts.h3 } });
    expect(memory.message).toBe('host h3 has 2048 MiB free, VM big needs 4096 MiB');
    const wide = await createVm('wide', 1024, 7, dc.hosts.h3);
    const cpu = await expectRejectedUnchanged(fixture, 'INSUFFICIENT_HOST_CPU', () => runtime.run(vmPowerOn, { vmId: wide }));
    expect(cpu.details).toMatchObject({ requested: 7, available: 6 });
  });

  it('HOST_IN_MAINTENANCE for a VM placed on a host in maintenance', async () => {
    const { runtime, dc } = fixture;
    const vmId = await createVm('a', 1024, 1, dc.hosts.h2);
    await runtime.run(hostEnterMaintenance, { hostId: dc.hosts.h2 });
    await expectRejectedUnchanged(fixture, 'HOST_IN_MAINTENANCE', () => runtime.run(vmPowerOn, { vmId }));
  });

  it('NO_HOST_AVAILABLE gives the reason for every host', async () => {
    const vmId = await createVm('huge', 100_000, 4);
    const error = await expectRejectedUnchanged(fixture, 'NO_HOST_AVAILABLE', () => fixture.runtime.run(vmPowerOn, { vmId }));
    const reasons = (error.details as { reasons: { code: string; host: { id: string } }[] }).reasons;
    expect(reasons.map((reason) => reason.code)).toEqual(['INSUFFICIENT_HOST_MEMORY', 'INSUFFICIENT_HOST_MEMORY', 'INSUFFICIENT_HOST_MEMORY']);
    expect(new Set(reasons.map((reason) => reason.host.id))).toEqual(new Set(Object.values(fixture.dc.hosts)));
  });
});

describe('vm.powerOff', () => {
  it('stops a running VM and refuses one that is off', async () => {
    const vmId = await createVm('a', 1024);
    await fixture.runtime.run(vmPowerOn, { vmId });
    await fixture.runtime.run(vmPowerOff, { vmId });
    expect(fixture.store.get(Vm, vmId)?.data.power).toBe('off');
    await expectAgreement(fixture);
    await expectRejectedUnchanged(fixture, 'INVALID_STATE', () => fixture.runtime.run(vmPowerOff, { vmId }));
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
