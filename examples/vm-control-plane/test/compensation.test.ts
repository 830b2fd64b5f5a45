import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OperationError, readRuntimeMeta, type StateDump } from '@ordo/core';
import { HypervisorFault } from '@ordo/adapters/hypervisor';
import { listVolumeFiles } from '@ordo/adapters/storage';
import { openControlPlane } from '../src/control-plane.js';
import { Vm } from '../src/entities/index.js';
import { gibibyte } from '../src/datacenter.js';
import { vmCreate, vmMigrate, vmPowerOff, vmPowerOn } from '../src/operations/index.js';
import { expectAgreement, fixtureName, freshControlPlane, type Fixture } from './control-plane-fixture.js';

let fixture: Fixture;
beforeEach(async () => {
  fixture = await freshControlPlane();
});
afterEach(async () => {
  await fixture.cleanup();
});

/** The application's state without the log's bookkeeping (and the runtime's own `ordo.*` entities): what `store.get` and `find` answer. */
function entitiesOf(dump: StateDump): Pick<StateDump, 'entities' | 'indexes'> {
  return { entities: dump.entities.filter((entity) => !entity.kind.startsWith('ordo.')), indexes: Object.fromEntries(Object.entries(dump.indexes).filter(([key]) => !key.startsWith('ordo.'))) };
}

describe('an adapter failure in apply is compensated', () => {
  it('reverts the entities and the volume files, file by file, and rejects naming adapter, step, entity and cause', async () => {
    const { runtime, store, dc, hypervisor, storageRoot } = fixture;
    await runtime.run(vmCreate, { name: 'ok', vcpus: 1, memoryMiB: 512, hostId: dc.hosts.h1, newDisks: [{ name: 'ok-root', containerId: dc.containers.fast, sizeBytes: gibibyte }] });
    const before = { state: entitiesOf(store.dump()), files: await listVolumeFiles(storageRoot), position: store.position };
    hypervisor.failNextApply('web-x', 'libvirt: connection reset');
    const error = await runtime
      .run(vmCreate, {
        name: 'web-x',
        vcpus: 2,
        memoryMiB: 2048,
        hostId: dc.hosts.h1,
        newDisks: [{ name: 'web-x-root', containerId: dc.containers.fast, sizeBytes: 4 * gibibyte }],
        nics: [{ subnetId: dc.subnets.prod }],
      })
      .catch((rejection: unknown) => rejection);
    expect(error).toBeInstanceOf(OperationError);
    const failure = error as OperationError;
    expect(failure).toMatchObject({ code: 'ADAPTER_FAILED', step: 'apply', adapter: 'hypervisor', entity: { kind: 'vm' } });
    expect(failure.cause).toBeInstanceOf(HypervisorFault);
    expect(failure.message).toContain('libvirt: connection reset');

    // The operation did not happen: same entities and indexes, same files with the same sizes.
    expect(entitiesOf(store.dump())).toEqual(before.state);
    expect(await listVolumeFiles(storageRoot)).toEqual(before.files);
    expect(store.find(Vm, { name: 'web-x' })).toEqual([]);
    await expectAgreement(fixture);

    // The log keeps the whole story: the operation, its compensation (linked), the compensation's outcome.
    const records = await store.read({ from: before.position + 1 });
    expect(records.map((record) => [record.operation, readRuntimeMeta(record)?.type])).toEqual([
      ['vm.create', 'operation'],
      ['vm.create', 'compensation'],
      ['vm.create', 'outcome'],
    ]);
    const [operation, compensation, outcome] = records;
    expect(readRuntimeMeta(compensation!)).toMatchObject({ of: operation!.txId, ofPosition: operation!.position, adapters: ['hypervisor', 'storage'] });
    expect(readRuntimeMeta(outcome!)).toMatchObject({ of: compensation!.txId });
    expect(compensation!.changes.filter((change) => !change.kind.startsWith('ordo.')).map((change) => change.op).sort()).toEqual(['delete', 'delete']);
  });

  it('a migration whose first agent call fails leaves the VM running where it was', async () => {
    const { runtime, store, dc, hypervisor } = fixture;
    const vmId = (await runtime.run(vmCreate, { name: 'm', vcpus: 1, memoryMiB: 1024, hostId: dc.hosts.h1 })).value.vmId;
    await runtime.run(vmPowerOn, { vmId });
    const callsBefore = hypervisor.calls;
    hypervisor.failAfter(0);
    const error = (await runtime.run(vmMigrate, { vmId, targetHostId: dc.hosts.h2 }).catch((rejection: unknown) => rejection)) as OperationError;
    expect(error.code).toBe('ADAPTER_FAILED');
    expect(error.message).not.toContain('undoing it failed too');
    expect(hypervisor.calls).toBe(callsBefore + 1);
    expect(store.get(Vm, vmId)?.data.hostId).toBe(dc.hosts.h1);
    expect(hypervisor.locate(vmId)).toEqual([dc.hosts.h1]);
    expect(hypervisor.domain(dc.hosts.h1, vmId)?.state).toBe('running');
    await expectAgreement(fixture);
  });

  it('a revert that fails keeps its entities held until it is applied; other operations run meanwhile', async () => {
    const { runtime, store, dc, hypervisor } = fixture;
    const vmId = (await runtime.run(vmCreate, { name: 'm', vcpus: 1, memoryMiB: 1024, hostId: dc.hosts.h1 })).value.vmId;
    await runtime.run(vmPowerOn, { vmId });
    hypervisor.failAfter(1);
    const error = (await runtime.run(vmMigrate, { vmId, targetHostId: dc.hosts.h2 }).catch((rejection: unknown) => rejection)) as OperationError;
    expect(error.message).toContain('undoing it failed too');
    const head = store.position;
    const busy = (await runtime.run(vmPowerOff, { vmId }).catch((rejection: unknown) => rejection)) as OperationError;
    expect(busy).toMatchObject({ code: 'ENTITY_BUSY', entity: { kind: 'vm', id: vmId }, details: { operation: 'vm.migrate' } });
    expect(store.position).toBe(head);
    hypervisor.clearFaults();
    await runtime.run(vmCreate, { name: 'n', vcpus: 1, memoryMiB: 512 });
    // The owner applies the revert again in its background round.
    await runtime.tick();
    expect(hypervisor.locate(vmId)).toEqual([dc.hosts.h1]);
    await runtime.run(vmPowerOff, { vmId });
    const records = await store.read({ from: head + 1 });
    expect(records.map((record) => readRuntimeMeta(record)?.type)).toEqual(['operation', 'outcome', 'outcome', 'operation', 'outcome']);
    await expectAgreement(fixture);
  });

  it('a revert that fails is applied again by the next runtime (recovery), after which all agree', async () => {
    const { runtime, store, dc, hypervisor, storageRoot, log } = fixture;
    const vmId = (await runtime.run(vmCreate, { name: 'm', vcpus: 1, memoryMiB: 1024, hostId: dc.hosts.h1 })).value.vmId;
    await runtime.run(vmPowerOn, { vmId });
    hypervisor.failAfter(1); // the migration defines the VM on h2 and then fails; the revert fails as well
    const error = (await runtime.run(vmMigrate, { vmId, targetHostId: dc.hosts.h2 }).catch((rejection: unknown) => rejection)) as OperationError;
    expect(error.message).toContain('undoing it failed too');
    expect(store.get(Vm, vmId)?.data.hostId).toBe(dc.hosts.h1);
    expect(hypervisor.locate(vmId).sort()).toEqual([dc.hosts.h1, dc.hosts.h2].sort());
    hypervisor.clearFaults();
    await fixture.close();
    const reopened = await openControlPlane({ log, hypervisor, storageRoot, name: fixtureName });
    expect(reopened.runtime.recovered).toMatchObject([{ operation: 'vm.migrate', record: 'compensation', outcome: 'reverted' }]);
    expect(hypervisor.locate(vmId)).toEqual([dc.hosts.h1]);
    await expectAgreement({ store: reopened.store, hypervisor, storageRoot });
    await reopened.close();
  });
});
