import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OperationError, ValidationError } from '@ordo/core';
import { listVolumeFiles } from '@ordo/adapters/storage';
import { Vm, Volume } from '../src/entities/index.js';
import { gibibyte } from '../src/datacenter.js';
import { vmCreate, volumeCreate } from '../src/operations/index.js';
import { expectAgreement, expectRejectedUnchanged, freshControlPlane, type Fixture } from './control-plane-fixture.js';

let fixture: Fixture;
beforeEach(async () => {
  fixture = await freshControlPlane();
});
afterEach(async () => {
  await fixture.cleanup();
});

const small = { vcpus: 2, memoryMiB: 2048 };

describe('vm.create', () => {
  it('creates a VM with addresses, an existing volume and a new one, defined on its host', async () => {
    const { runtime, store, dc } = fixture;
    const data = await runtime.run(volumeCreate, { name: 'data-1', containerId: dc.containers.fast, sizeBytes: gibibyte });
    const { value, position } = await runtime.run(vmCreate, {
      name: 'web-1',
      ...small,
      hostId: dc.hosts.h1,
      disks: [data.value],
      newDisks: [{ name: 'web-1-root', containerId: dc.containers.fast, sizeBytes: 10 * gibibyte }],
      nics: [{ subnetId: dc.subnets.prod }, { subnetId: dc.subnets.prod, ip: '10.0.0.99' }],
    });
    expect(position).toBe(store.position - 1); // the outcome record follows the operation's record
    expect(value.ips).toEqual(['10.0.0.10', '10.0.0.99']);
    const vm = store.get(Vm, value.vmId)!;
    expect(vm.data).toMatchObject({ power: 'off', hostId: dc.hosts.h1, disks: [data.value, ...value.volumeIds] });
    expect(store.get(Volume, data.value)?.data.attachment).toEqual({ vmId: value.vmId });
    expect(fixture.hypervisor.domain(dc.hosts.h1, value.vmId)?.state).toBe('stopped');
    const files = await listVolumeFiles(fixture.storageRoot);
    expect(files.map((file) => [file.volumeId, file.sizeBytes])).toEqual(
      [[data.value, gibibyte], [value.volumeIds[0], 10 * gibibyte]].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    // Sparse: ten GiB apparent, next to nothing allocated.
    expect(files.every((file) => file.allocatedBytes < 1024 * 1024)).toBe(true);
    await expectAgreement(fixture);
  });

  it('rejects bad input with a ValidationError naming the operation and the field, writing nothing', async () => {
    const error = await expectRejectedUnchanged(fixture, 'VALIDATION_FAILED', () => fixture.runtime.run(vmCreate, { name: 'x', vcpus: -1, memoryMiB: 1 }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as unknown as ValidationError).kind).toBe('vm.create');
    expect((error as unknown as ValidationError).issues[0]?.path).toEqual(['vcpus']);
  });

  it('NAME_CONFLICT names the existing VM', async () => {
    const first = await fixture.runtime.run(vmCreate, { name: 'web-1', ...small });
    const error = await expectRejectedUnchanged(fixture, 'NAME_CONFLICT', () => fixture.runtime.run(vmCreate, { name: 'web-1', ...small }));
    expect(error).toBeInstanceOf(OperationError);
    expect(error).toMatchObject({ step: 'plan', details: { name: 'web-1', existing: { kind: 'vm', id: first.value.vmId } } });
  });

  it('VOLUME_NOT_FOUND and VOLUME_ALREADY_ATTACHED', async () => {
    const { runtime, dc } = fixture;
    await expectRejectedUnchanged(fixture, 'VOLUME_NOT_FOUND', () => runtime.run(vmCreate, { name: 'a', ...small, disks: ['nope'] }));
    const volume = await runtime.run(volumeCreate, { name: 'shared', containerId: dc.containers.fast, sizeBytes: gibibyte });
    const owner = await runtime.run(vmCreate, { name: 'a', ...small, disks: [volume.value] });
    const error = await expectRejectedUnchanged(fixture, 'VOLUME_ALREADY_ATTACHED', () => runtime.run(vmCreate, { name: 'b', ...small, disks: [volume.value] }));
    expect(error.details).toEqual({ volume: { kind: 'volume', id: volume.value }, conflicting: { kind: 'vm', id: owner.value.vmId } });
  });

  it('SUBNET_NOT_FOUND and IP_NOT_IN_SUBNET', async () => {
    const { runtime, dc } = fixture;
    await expectRejectedUnchanged(fixture, 'SUBNET_NOT_FOUND', () => runtime.run(vmCreate, { name: 'a', ...small, nics: [{ subnetId: 'nope' }] }));
    const error = await expectRejectedUnchanged(fixture, 'IP_NOT_IN_SUBNET', () =>
      runtime.run(vmCreate, { name: 'a', ...small, nics: [{ subnetId: dc.subnets.prod, ip: '10.0.1.5' }] }),
    );
    expect(error.details).toMatchObject({ ip: '10.0.1.5', cidr: '10.0.0.0/24' });
  });

  it('IP_ALREADY_IN_USE names the VM holding the address, and the gateway', async () => {
    const { runtime, dc } = fixture;
    const holder = await runtime.run(vmCreate, { name: 'a', ...small, nics: [{ subnetId: dc.subnets.prod, ip: '10.0.0.50' }] });
    const error = await expectRejectedUnchanged(fixture, 'IP_ALREADY_IN_USE', () =>
      runtime.run(vmCreate, { name: 'b', ...small, nics: [{ subnetId: dc.subnets.prod, ip: '10.0.0.50' }] }),
    );
    expect(error.details).toMatchObject({ ip: '10.0.0.50', conflicting: { kind: 'vm', id: holder.value.vmId } });
    const gateway = await expectRejectedUnchanged(fixture, 'IP_ALREADY_IN_USE', () =>
      runtime.run(vmCreate, { name: 'b', ...small, nics: [{ subnetId: dc.subnets.prod, ip: '10.0.0.1' }] }),
    );
    expect(gateway.details).toMatchObject({ conflicting: 'gateway' });
  });

  it('IP_POOL_EXHAUSTED when the pool has no free address', async () => {
    const { runtime, dc } = fixture;
    const nics = [{ subnetId: dc.subnets.tiny }];
    expect((await runtime.run(vmCreate, { name: 'a', ...small, nics })).value.ips).toEqual(['10.0.9.2']);
    expect((await runtime.run(vmCreate, { name: 'b', ...small, nics })).value.ips).toEqual(['10.0.9.3']);
    const error = await expectRejectedUnchanged(fixture, 'IP_POOL_EXHAUSTED', () => runtime.run(vmCreate, { name: 'c', ...small, nics }));
    expect(error.details).toMatchObject({ poolSize: 2, inUse: 2 });
  });

  it('CONTAINER_FULL for a new disk that does not fit, with the numbers', async () => {
    const { runtime, dc } = fixture;
    const error = await expectRejectedUnchanged(fixture, 'CONTAINER_FULL', () =>
      runtime.run(vmCreate, { name: 'a', ...small, newDisks: [{ name: 'big', containerId: dc.containers.small, sizeBytes: 21 * gibibyte }] }),
    );
    expect(error.details).toMatchObject({ requested: 21 * gibibyte, available: 20 * gibibyte });
  });
});
