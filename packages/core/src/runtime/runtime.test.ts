import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineEntity } from '../entity-type.js';
import { LogStoreError, ValidationError } from '../errors.js';
import type { LogStore } from '../log-store.js';
import { memoryLog } from '../memory-log.js';
import type { Entity } from '../record.js';
import { openStore, type Store } from '../store.js';
import type { InfrastructureAdapter } from './adapter.js';
import { defineOperation } from './define-operation.js';
import { OperationError } from './operation-error.js';
import { readMeta } from './operation-meta.js';
import { createRuntime } from './runtime.js';

const Disk = defineEntity('disk', z.object({ name: z.string(), size: z.number().int().positive() }), { unique: ['name'] });
const Note = defineEntity('note', z.object({ text: z.string() }));

/**
 * A small real adapter: it keeps "infrastructure" (name -> size) in a map owned by the test,
 * as a storage system would keep disks, and logs every call. `failOn` makes apply fail for a
 * disk name, once.
 */
function diskAdapter(name: string, world: { disks: Map<string, number>; calls: string[]; failOn?: string | undefined; failWith?: Error | undefined }): InfrastructureAdapter {
  return {
    name,
    kinds: ['disk'],
    prepare({ changes }) {
      for (const change of changes) {
        if ((change.after?.data.size as number) > 1000) {
          throw new OperationError({ code: 'TOO_BIG', message: `${change.id} is too big`, details: { requested: change.after?.data.size as number, available: 1000 } });
        }
        if (change.after?.data.name === 'explode') throw new Error('prepare crashed');
      }
    },
    apply({ changes }) {
      for (const change of changes) {
        const diskName = diskNameOf(change.after ?? change.before);
        world.calls.push(`${name}:${change.op}:${diskName}`);
        if (world.failOn === diskName) {
          world.failOn = undefined;
          throw world.failWith ?? new Error(`${name} could not ${change.op} ${diskName}`);
        }
        if (change.after === undefined) world.disks.delete(`${name}/${change.id}`);
        else world.disks.set(`${name}/${change.id}`, change.after.data.size as number);
      }
    },
  };
}

function diskNameOf(entity: Entity | undefined): string {
  const name = entity?.data.name;
  return typeof name === 'string' ? name : '?';
}

const createDisk = defineOperation({
  name: 'disk.create',
  input: z.object({ name: z.string().min(1), size: z.number().int().positive() }),
  plan(tx, input) {
    if (tx.find(Disk, { name: input.name }).length > 0) throw new OperationError({ code: 'NAME_CONFLICT', message: `disk ${input.name} exists` });
    return tx.create(Disk, input).id;
  },
});

const resizeDisk = defineOperation({
  name: 'disk.resize',
  input: z.object({ id: z.string(), size: z.number().int().positive() }),
  plan(tx, input) {
    tx.update(Disk, input.id, { size: input.size });
  },
});

const addNote = defineOperation({
  name: 'note.add',
  input: z.object({ text: z.string() }),
  plan: (tx, input) => tx.create(Note, input).id,
});

async function setup(options: { failOn?: string; failWith?: Error } = {}) {
  const log = memoryLog();
  const store = await openStore({ entities: [Disk, Note], log });
  const world = { disks: new Map<string, number>(), calls: [] as string[], ...options };
  const runtime = await createRuntime({ store, adapters: [diskAdapter('first', world), diskAdapter('second', world)] });
  return { log, store, world, runtime };
}

async function rejection(promise: Promise<unknown>): Promise<OperationError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as OperationError,
  );
}

function entities(store: Store) {
  return store.dump().entities;
}

describe('operation runtime', () => {
  it('runs plan, applies adapters in order, and records an outcome', async () => {
    const { store, world, runtime } = await setup();
    const { value, position, replayed } = await runtime.run(createDisk, { name: 'a', size: 10 });
    expect(replayed).toBe(false);
    expect(store.get(Disk, value)?.data).toEqual({ name: 'a', size: 10 });
    expect(world.calls).toEqual(['first:create:a', 'second:create:a']);
    const records = await store.read({ from: 1 });
    expect(records.map((record) => readMeta(record)?.type)).toEqual(['operation', 'outcome']);
    expect(records[0]).toMatchObject({ position, operation: 'disk.create', meta: { ordo: { adapters: ['first', 'second'] } } });
  });

  it('an operation no adapter is concerned by is finished at commit: one record', async () => {
    const { store, world, runtime } = await setup();
    await runtime.run(addNote, { text: 'hello' });
    expect(store.position).toBe(1);
    expect(world.calls).toEqual([]);
  });

  it('invalid input: ValidationError named after the operation, nothing written', async () => {
    const { store, runtime } = await setup();
    const error = await rejection(runtime.run(createDisk, { name: '', size: 1 }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', kind: 'disk.create', issues: [{ path: ['name'] }] });
    expect(store.position).toBe(0);
  });

  it('an OperationError from plan keeps its code with step plan; nothing written', async () => {
    const { store, runtime } = await setup();
    await runtime.run(createDisk, { name: 'a', size: 1 });
    const position = store.position;
    const error = await rejection(runtime.run(createDisk, { name: 'a', size: 2 }));
    expect(error).toBeInstanceOf(OperationError);
    expect(error).toMatchObject({ code: 'NAME_CONFLICT', step: 'plan' });
    expect(store.position).toBe(position);
  });

  it('prepare vetoes: the adapter code kept with step prepare, any other error becomes ADAPTER_FAILED; nothing written', async () => {
    const { store, world, runtime } = await setup();
    const veto = await rejection(runtime.run(createDisk, { name: 'big', size: 5000 }));
    expect(veto).toMatchObject({ code: 'TOO_BIG', step: 'prepare', adapter: 'first', details: { requested: 5000, available: 1000 } });
    const crash = await rejection(runtime.run(createDisk, { name: 'explode', size: 1 }));
    expect(crash).toMatchObject({ code: 'ADAPTER_FAILED', step: 'prepare', adapter: 'first' });
    expect((crash.cause as Error).message).toBe('prepare crashed');
    expect(store.position).toBe(0);
    expect(world.calls).toEqual([]);
  });

  it('an apply failure is compensated: reverting changes go to the adapters that were asked, in reverse order', async () => {
    const { store, world, runtime } = await setup();
    const id = (await runtime.run(createDisk, { name: 'a', size: 10 })).value;
    const before = entities(store);
    world.calls.length = 0;
    world.failOn = 'a';
    // The first adapter fails on the resize: it alone was asked, so it alone is asked to revert.
    const error = await rejection(runtime.run(resizeDisk, { id, size: 20 }));
    expect(error).toMatchObject({ code: 'ADAPTER_FAILED', step: 'apply', adapter: 'first', entity: { kind: 'disk', id } });
    expect(world.calls).toEqual(['first:update:a', 'first:update:a']);
    expect(entities(store)).toEqual([{ ...before[0], version: 3 }]);
    expect(store.get(Disk, id)?.data.size).toBe(10);
    expect(world.disks.get(`first/${id}`)).toBe(10);
  });

  it('an OperationError from apply keeps its code, with step apply and the adapter; the store is as before', async () => {
    const { store, world, runtime } = await setup({ failWith: new OperationError({ code: 'QUOTA_EXCEEDED', message: 'quota', details: { requested: 1, available: 0 } }) });
    world.failOn = 'b';
    const error = await rejection(runtime.run(createDisk, { name: 'b', size: 1 }));
    expect(error).toBeInstanceOf(OperationError);
    expect(error).toMatchObject({ code: 'QUOTA_EXCEEDED', step: 'apply', adapter: 'first', details: { requested: 1, available: 0 } });
    expect(store.list(Disk)).toEqual([]);
    expect(world.disks.size).toBe(0);
  });

  it('the second adapter failing: the first is reverted after the failed one, and the infrastructure is as before', async () => {
    const log = memoryLog();
    const store = await openStore({ entities: [Disk, Note], log });
    const first = { disks: new Map<string, number>(), calls: [] as string[] };
    const second = { disks: new Map<string, number>(), calls: [] as string[], failOn: 'y' };
    const runtime = await createRuntime({ store, adapters: [diskAdapter('first', first), diskAdapter('second', second)] });
    const error = await rejection(runtime.run(createDisk, { name: 'y', size: 1 }));
    expect(error).toMatchObject({ code: 'ADAPTER_FAILED', adapter: 'second', step: 'apply' });
    expect(first.calls).toEqual(['first:create:y', 'first:delete:y']);
    expect(second.calls).toEqual(['second:create:y', 'second:delete:y']);
    expect(first.disks.size + second.disks.size).toBe(0);
    expect(store.list(Disk)).toEqual([]);
  });

  it('requestId: a success replays its value without running; a compensated failure replays its error', async () => {
    const { store, world, runtime } = await setup();
    const first = await runtime.run(createDisk, { name: 'a', size: 1 }, { requestId: 'r1' });
    const head = store.position;
    const again = await runtime.run(createDisk, { name: 'a', size: 1 }, { requestId: 'r1' });
    expect(again).toEqual({ value: first.value, position: first.position, replayed: true });
    expect(store.position).toBe(head);
    world.failOn = 'b';
    const failed = await rejection(runtime.run(createDisk, { name: 'b', size: 1 }, { requestId: 'r2' }));
    const replayedFailure = await rejection(runtime.run(createDisk, { name: 'b', size: 1 }, { requestId: 'r2' }));
    expect(replayedFailure).toBeInstanceOf(OperationError);
    expect(replayedFailure).toMatchObject({ code: failed.code, step: 'apply', adapter: 'first', message: failed.message });
    // A request that failed before commit wrote nothing, so it may be sent again.
    const vetoed = await rejection(runtime.run(createDisk, { name: 'c', size: 5000 }, { requestId: 'r3' }));
    expect(vetoed.code).toBe('TOO_BIG');
    expect((await runtime.run(createDisk, { name: 'c', size: 5 }, { requestId: 'r3' })).replayed).toBe(false);
  });

  it('runs operations one at a time: applies never interleave', async () => {
    const log = memoryLog();
    const store = await openStore({ entities: [Disk, Note], log });
    const events: string[] = [];
    const slow: InfrastructureAdapter = {
      name: 'slow',
      kinds: ['disk'],
      async apply({ changes }) {
        events.push(`start ${diskNameOf(changes[0]?.after)}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        events.push(`end ${diskNameOf(changes[0]?.after)}`);
      },
    };
    const runtime = await createRuntime({ store, adapters: [slow] });
    await Promise.all(['a', 'b', 'c'].map((name) => runtime.run(createDisk, { name, size: 1 })));
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });
});

describe('recovery', () => {
  /** Commits an operation whose apply never returns, as a process that died after commit would leave it. */
  async function commitWithoutOutcome() {
    const log = memoryLog();
    const store = await openStore({ entities: [Disk, Note], log });
    let committed!: () => void;
    const reached = new Promise<void>((resolve) => (committed = resolve));
    const hang: InfrastructureAdapter = {
      name: 'first',
      kinds: ['disk'],
      apply() {
        committed();
        return new Promise<void>(() => undefined);
      },
    };
    const runtime = await createRuntime({ store, adapters: [hang] });
    void runtime.run(createDisk, { name: 'pending', size: 7 }, { requestId: 'req-pending' });
    await reached;
    return { log };
  }

  it('finishes an operation committed without an outcome before new operations run', async () => {
    const { log } = await commitWithoutOutcome();
    const store = await openStore({ entities: [Disk, Note], log });
    const world = { disks: new Map<string, number>(), calls: [] as string[] };
    const runtime = await createRuntime({ store, adapters: [diskAdapter('first', world)] });
    expect(runtime.recovered).toMatchObject([{ operation: 'disk.create', record: 'operation', outcome: 'applied' }]);
    expect(world.calls).toEqual(['first:create:pending']);
    const [disk] = store.list(Disk);
    expect(world.disks.get(`first/${disk!.id}`)).toBe(7);
    const records = await store.read({ from: 1 });
    expect(readMeta(records[1]!)).toMatchObject({ type: 'outcome', recovered: true });
    // The requestId now replays the finished operation; a second start finds nothing to do.
    expect((await runtime.run(createDisk, { name: 'pending', size: 7 }, { requestId: 'req-pending' })).replayed).toBe(true);
    const again = await createRuntime({ store, adapters: [diskAdapter('first', world)] });
    expect(again.recovered).toEqual([]);
  });

  it('reverts it when the adapter fails again, so the log shows it did not happen', async () => {
    const { log } = await commitWithoutOutcome();
    const store = await openStore({ entities: [Disk, Note], log });
    const world = { disks: new Map<string, number>(), calls: [] as string[], failOn: 'pending' };
    const runtime = await createRuntime({ store, adapters: [diskAdapter('first', world)] });
    expect(runtime.recovered).toMatchObject([{ operation: 'disk.create', outcome: 'reverted', error: { code: 'ADAPTER_FAILED' } }]);
    expect(store.list(Disk)).toEqual([]);
    expect(world.disks.size).toBe(0);
    const replay = await rejection(runtime.run(createDisk, { name: 'pending', size: 7 }, { requestId: 'req-pending' }));
    expect(replay.code).toBe('ADAPTER_FAILED');
  });

  it('refuses to start without an adapter the log needs', async () => {
    const { log } = await commitWithoutOutcome();
    const store = await openStore({ entities: [Disk, Note], log });
    await expect(createRuntime({ store, adapters: [] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('a log store failure while recording the outcome', () => {
  /** A memory log whose appends fail while `failing.on` is set, as a full disk would. */
  function failingLog(inner: LogStore, failing: { on: boolean }): LogStore {
    return {
      name: 'failing',
      multiWriter: inner.multiWriter,
      open: () => inner.open(),
      append: async (records) => {
        if (failing.on) throw new LogStoreError({ store: 'failing', message: 'disk full' });
        return inner.append(records);
      },
      read: (from, limit) => inner.read(from, limit),
      head: () => inner.head(),
      subscribe: (listener) => inner.subscribe(listener),
      close: () => inner.close(),
    };
  }

  it('rejects with OUTCOME_UNKNOWN, refuses further runs, and the next runtime finishes the operation', async () => {
    const inner = memoryLog();
    const failing = { on: false };
    const store = await openStore({ entities: [Disk, Note], log: failingLog(inner, failing) });
    const world = { disks: new Map<string, number>(), calls: [] as string[] };
    const adapter = diskAdapter('first', world);
    const breaking: InfrastructureAdapter = { ...adapter, apply: async (input) => { await adapter.apply(input); failing.on = true; } };
    const runtime = await createRuntime({ store, adapters: [breaking] });
    const error = await rejection(runtime.run(createDisk, { name: 'a', size: 3 }));
    expect(error).toMatchObject({ code: 'OUTCOME_UNKNOWN', step: 'apply', details: { operation: 'disk.create' } });
    expect((await rejection(runtime.run(addNote, { text: 'x' }))).code).toBe('OUTCOME_UNKNOWN');

    const reopened = await openStore({ entities: [Disk, Note], log: inner });
    const fresh = { disks: new Map<string, number>(), calls: [] as string[] };
    const next = await createRuntime({ store: reopened, adapters: [diskAdapter('first', fresh)] });
    expect(next.recovered).toMatchObject([{ operation: 'disk.create', outcome: 'applied' }]);
    expect(fresh.calls).toEqual(['first:create:a']);
  });
});
