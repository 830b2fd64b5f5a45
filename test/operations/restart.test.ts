import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRuntime, defineEntity, defineOperation, OperationError, openStore, type Store } from '@ordo/core';
import { fileLog } from '@ordo/adapters/file';
import { hypervisorAdapter, SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { directoryStorage, listVolumeFiles } from '@ordo/adapters/storage';

// A minimal control plane: the adapters only need these fields.
const Host = defineEntity('host', z.object({ name: z.string() }), { unique: ['name'] });
const Container = defineEntity('storageContainer', z.object({ name: z.string(), maxCapacityBytes: z.number().int(), thin: z.boolean() }));
const Volume = defineEntity('volume', z.object({ name: z.string(), containerId: z.string(), sizeBytes: z.number().int() }), { unique: ['name'] });
const Vm = defineEntity(
  'vm',
  z.object({ name: z.string(), vcpus: z.number().int(), memoryMiB: z.number().int(), power: z.enum(['on', 'off']), hostId: z.string().optional(), disks: z.array(z.string()), nics: z.array(z.object({ mac: z.string(), ip: z.string() })) }),
  { unique: ['name'] },
);
const entities = [Host, Container, Volume, Vm];

const setup = defineOperation({
  name: 'test.setup',
  input: z.object({}),
  plan(tx) {
    const host = tx.create(Host, { name: 'h1' }, { id: 'h1' });
    const other = tx.create(Host, { name: 'h2' }, { id: 'h2' });
    const container = tx.create(Container, { name: 'c', maxCapacityBytes: 2 ** 40, thin: true }, { id: 'c1' });
    return { hosts: [host.id, other.id], containerId: container.id };
  },
});
const createVm = defineOperation({
  name: 'test.vm.create',
  input: z.object({ name: z.string(), sizeBytes: z.number().int() }),
  plan(tx, input) {
    const volume = tx.create(Volume, { name: `${input.name}-disk`, containerId: 'c1', sizeBytes: input.sizeBytes });
    return tx.create(Vm, { name: input.name, vcpus: 1, memoryMiB: 512, power: 'on', hostId: 'h1', disks: [volume.id], nics: [] }).id;
  },
});
const moveVm = defineOperation({
  name: 'test.vm.move',
  input: z.object({ vmId: z.string(), hostId: z.string() }),
  plan(tx, input) {
    tx.update(Vm, input.vmId, { hostId: input.hostId });
  },
});
const growDisk = defineOperation({
  name: 'test.volume.grow',
  input: z.object({ name: z.string(), sizeBytes: z.number().int() }),
  plan(tx, input) {
    const [volume] = tx.find(Volume, { name: input.name });
    tx.update(Volume, volume!.id, { sizeBytes: input.sizeBytes });
  },
});

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function paths() {
  const dir = mkdtempSync(join(tmpdir(), 'ordo-operations-'));
  dirs.push(dir);
  return { log: join(dir, 'log'), storage: join(dir, 'storage'), hypervisorState: join(dir, 'hypervisor.json') };
}

/** New adapter instances (and a new client of the persisted hosts) every time: nothing carries over in memory. */
async function freshRuntime(store: Store, where: ReturnType<typeof paths>) {
  const hypervisor = new SimulatedHypervisor({ stateFile: where.hypervisorState });
  const runtime = await createRuntime({ store, adapters: [directoryStorage({ root: where.storage }), hypervisorAdapter({ hypervisor })] });
  return { runtime, hypervisor };
}

async function expectAgreement(store: Store, hypervisor: SimulatedHypervisor, storageRoot: string): Promise<void> {
  const files = await listVolumeFiles(storageRoot);
  expect(files.map((file) => [file.volumeId, file.containerId, file.sizeBytes])).toEqual(store.list(Volume).map((volume) => [volume.id, volume.data.containerId, volume.data.sizeBytes]));
  const byId = (a: unknown[], b: unknown[]): number => String(a[0]).localeCompare(String(b[0]));
  expect(hypervisor.domains().map((domain) => [domain.id, domain.hostId, domain.state]).sort(byId)).toEqual(
    store.list(Vm).map((vm) => [vm.id, vm.data.hostId, vm.data.power === 'on' ? 'running' : 'stopped']),
  );
}

describe('operations across restarts (file log)', () => {
  it('a requestId replays its first outcome after a restart, success or compensated failure, and writes nothing', async () => {
    const where = paths();
    let store = await openStore({ entities, log: fileLog({ dir: where.log }) });
    let { runtime, hypervisor } = await freshRuntime(store, where);
    await runtime.run(setup, {});
    const created = await runtime.run(createVm, { name: 'a', sizeBytes: 1 << 20 }, { requestId: 'create-a' });
    hypervisor.failNextApply('b');
    const failed = (await runtime.run(createVm, { name: 'b', sizeBytes: 1 << 20 }, { requestId: 'create-b' }).catch((error: unknown) => error)) as OperationError;
    expect(failed).toBeInstanceOf(OperationError);
    await store.close();

    store = await openStore({ entities, log: fileLog({ dir: where.log }) });
    ({ runtime, hypervisor } = await freshRuntime(store, where));
    const head = store.position;
    const calls = hypervisor.calls;
    const again = await runtime.run(createVm, { name: 'a', sizeBytes: 1 << 20 }, { requestId: 'create-a' });
    expect(again).toEqual({ value: created.value, position: created.position, replayed: true });
    const failedAgain = await runtime.run(createVm, { name: 'b', sizeBytes: 1 << 20 }, { requestId: 'create-b' }).catch((error: unknown) => error as OperationError);
    expect(failedAgain).toBeInstanceOf(OperationError);
    expect(failedAgain).toMatchObject({ code: failed.code, step: 'apply', adapter: 'hypervisor', message: failed.message });
    expect(store.position).toBe(head);
    expect(hypervisor.calls).toBe(calls);
    await expectAgreement(store, hypervisor, where.storage);
    await store.close();
  });

  it('fresh adapter instances swapped in between operations continue exactly where the others stopped', async () => {
    const where = paths();
    const store = await openStore({ entities, log: fileLog({ dir: where.log }) });
    let current = await freshRuntime(store, where);
    await current.runtime.run(setup, {});
    const ids: string[] = [];
    for (const [index, name] of ['a', 'b', 'c'].entries()) {
      current = await freshRuntime(store, where);
      ids.push((await current.runtime.run(createVm, { name, sizeBytes: (index + 1) << 20 })).value);
    }
    current = await freshRuntime(store, where);
    await current.runtime.run(moveVm, { vmId: ids[1]!, hostId: 'h2' });
    current = await freshRuntime(store, where);
    await current.runtime.run(growDisk, { name: 'c-disk', sizeBytes: 8 << 20 });
    // A failure handled by one instance and undone by another one's revert still agrees.
    current = await freshRuntime(store, where);
    current.hypervisor.failNextApply(ids[0]!);
    await expect(current.runtime.run(moveVm, { vmId: ids[0]!, hostId: 'h2' })).rejects.toMatchObject({ code: 'ADAPTER_FAILED' });
    current = await freshRuntime(store, where);
    expect(current.runtime.recovered).toEqual([]);
    await expectAgreement(store, current.hypervisor, where.storage);
    expect(current.hypervisor.locate(ids[1]!)).toEqual(['h2']);
    expect(current.hypervisor.locate(ids[0]!)).toEqual(['h1']);
    await store.close();
  });
});
