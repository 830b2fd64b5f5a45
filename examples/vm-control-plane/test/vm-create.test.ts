import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OperationError, ValidationError } from '@ordo/core';
import { listVolumeFiles } from '@ordo/adapters/storage';
import { Vm, Volume } from '../src/entities/index.js';
import { gibibyte } from '../src/datacenter.js';
import { vmCreate, volumeCreate } from '../src/operations/index.js';
import { expectAgreement, freshControlPlane, type Fixture } from './control-plane-fixture.js';
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
    await given.spec
      .given(datacenter)
      .when(vmCreate, { name: 'x', vcpus: -1, memoryMiB: 1 })
      .thenFails('VALIDATION_FAILED', { kind: 'vm.create' }, ({ error }) => {
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).issues[0]?.path).toEqual(['vcpus']);
      });
  });

  it('NAME_CONFLICT names the existing VM', async () => {
    await given.spec
      .given([...datacenter, vm('web-1', small)])
      .when(vmCreate, { name: 'web-1', ...small })
      .thenFails('NAME_CONFLICT', { step: 'plan', details: { name: 'web-1', existing: { kind: 'vm', id: 'web-1' } } }, ({ error }) => {
        expect(error).toBeInstanceOf(OperationError);
      });
  });

  it('VOLUME_NOT_FOUND', async () => {
    await given.spec.given(datacenter).when(vmCreate, { name: 'a', ...small, disks: ['nope'] }).thenFails('VOLUME_NOT_FOUND');
  });

  it('VOLUME_ALREADY_ATTACHED names the volume and the VM it is attached to', async () => {
    await given.spec
      .given([...datacenter, vm('a', { ...small, disks: ['shared'] }), volume('shared', { containerId: 'fast', sizeBytes: gibibyte, vmId: 'a' })])
      .when(vmCreate, { name: 'b', ...small, disks: ['shared'] })
      .thenFails('VOLUME_ALREADY_ATTACHED', {}, ({ error }) => {
        expect((error as OperationError).details).toEqual({ volume: { kind: 'volume', id: 'shared' }, conflicting: { kind: 'vm', id: 'a' } });
      });
  });

  it('SUBNET_NOT_FOUND and IP_NOT_IN_SUBNET', async () => {
    await given.spec.given(datacenter).when(vmCreate, { name: 'a', ...small, nics: [{ subnetId: 'nope' }] }).thenFails('SUBNET_NOT_FOUND');
    await given.spec
      .given(datacenter)
      .when(vmCreate, { name: 'a', ...small, nics: [{ subnetId: 'prod', ip: '10.0.1.5' }] })
      .thenFails('IP_NOT_IN_SUBNET', { details: { ip: '10.0.1.5', cidr: '10.0.0.0/24' } });
  });

  it('IP_ALREADY_IN_USE names the VM holding the address, and the gateway', async () => {
    const withHolder = given.spec.given([...datacenter, vm('a', { ...small, ips: [{ subnetId: 'prod', ip: '10.0.0.50' }] })]);
    await withHolder
      .when(vmCreate, { name: 'b', ...small, nics: [{ subnetId: 'prod', ip: '10.0.0.50' }] })
      .thenFails('IP_ALREADY_IN_USE', { details: { ip: '10.0.0.50', conflicting: { kind: 'vm', id: 'a' } } });
    await withHolder.when(vmCreate, { name: 'b', ...small, nics: [{ subnetId: 'prod', ip: '10.0.0.1' }] }).thenFails('IP_ALREADY_IN_USE', { details: { conflicting: 'gateway' } });
  });

  it('allocates the pool in order; IP_POOL_EXHAUSTED when it has no free address', async () => {
    const nics = [{ subnetId: 'tiny' }];
    await given.spec.given(datacenter).when(vmCreate, { name: 'a', ...small, nics }).thenCommits({ value: { ips: ['10.0.9.2'] } });
    const first = vm('a', { ...small, ips: [{ subnetId: 'tiny', ip: '10.0.9.2' }] });
    await given.spec.given([...datacenter, first]).when(vmCreate, { name: 'b', ...small, nics }).thenCommits({ value: { ips: ['10.0.9.3'] } });
    const second = vm('b', { ...small, ips: [{ subnetId: 'tiny', ip: '10.0.9.3' }] });
    await given.spec.given([...datacenter, first, second]).when(vmCreate, { name: 'c', ...small, nics }).thenFails('IP_POOL_EXHAUSTED', { details: { poolSize: 2, inUse: 2 } });
  });

  it('CONTAINER_FULL for a new disk that does not fit, with the numbers', async () => {
    await given.spec
      .given(datacenter)
      .when(vmCreate, { name: 'a', ...small, newDisks: [{ name: 'big', containerId: 'small', sizeBytes: 21 * gibibyte }] })
      .thenFails('CONTAINER_FULL', { details: { requested: 21 * gibibyte, available: 20 * gibibyte } });
  });
});
