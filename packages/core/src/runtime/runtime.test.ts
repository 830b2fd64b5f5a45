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
import { registerLease, renewLease, takeOver } from './ownership.js';
import { createRuntime } from './runtime.js';
import { HoldEntity, LeaseEntity, OperationEntity } from './runtime-entities.js';

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
  const runtime = await createRuntime({ store, adapters: [diskAdapter('first', world), diskAdapter('second', world)], background: false });
  // The runtime's lease is the first record; tests count from here.
  const start = store.position;
  return { log, store, world, runtime, start };
}

/** Records after `from`, without the runtime's lease bookkeeping. */
async function recordsAfter(store: Store, from: number) {
  return (await store.read({ from: from + 1 })).filter((record) => !record.operation?.startsWith('ordo.lease'));
}

async function rejection(promise: Promise<unknown>): Promise<OperationError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as OperationError,
  );
}

/** The application's entities (the runtime's own `ordo.*` ones left out). */
function entities(store: Store) {
  return store.dump().entities.filter((entity) => !entity.kind.startsWith('ordo.'));
}

describe('operation runtime', () => {
  it('runs plan, applies adapters in order, and records an outcome', async () => {
    const { store, world, runtime, start } = await setup();
    const { value, position, replayed } = await runtime.run(createDisk, { name: 'a', size: 10 });
    expect(replayed).toBe(false);
    expect(store.get(Disk, value)?.data).toEqual({ name: 'a', size: 10 });
    expect(world.calls).toEqual(['first:create:a', 'second:create:a']);
    const records = await recordsAfter(store, start);
    expect(records.map((record) => readMeta(record)?.type)).toEqual(['operation', 'outcome']);
    expect(records[0]).toMatchObject({ position, operation: 'disk.create', meta: { ordo: { adapters: ['first', 'second'] } } });
  });

  it('an operation no adapter is concerned by is finished at commit: one record', async () => {
    const { store, world, runtime, start } = await setup();
    await runtime.run(addNote, { text: 'hello' });
    expect(store.position).toBe(start + 1);
    expect(world.calls).toEqual([]);
  });

  it('invalid input: ValidationError named after the operation, nothing written', async () => {
    const { store, runtime, start } = await setup();
    const error = await rejection(runtime.run(createDisk, { name: '', size: 1 }));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', kind: 'disk.create', issues: [{ path: ['name'] }] });
    expect(store.position).toBe(start);
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
    const { store, world, runtime, start } = await setup();
    const veto = await rejection(runtime.run(createDisk, { name: 'big', size: 5000 }));
    expect(veto).toMatchObject({ code: 'TOO_BIG', step: 'prepare', adapter: 'first', details: { requested: 5000, available: 1000 } });
    const crash = await rejection(runtime.run(createDisk, { name: 'explode', size: 1 }));
    expect(crash).toMatchObject({ code: 'ADAPTER_FAILED', step: 'prepare', adapter: 'first' });
    expect((crash.cause as Error).message).toBe('prepare crashed');
    expect(store.position).toBe(start);
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


  it('a background round that runs between an operation\'s commit and its settle leaves it to its run: applied once', async () => {
    const store = await openStore({ entities: [Disk, Note], log: memoryLog() });
    const world = { disks: new Map<string, number>(), calls: [] as string[] };
    const gap = { round: async (): Promise<void> => undefined };
    let rounds = 0;
    // The round lands exactly in the gap: the operation is in the store, its own settle not begun.
    const telemetry = {
      step: async <Value>(step: string, _attributes: unknown, work: (note: () => void) => Promise<Value>): Promise<Value> => {
        if (step === 'settle') {
          rounds += 1;
          await gap.round();
        }
        return work(() => undefined);
      },
    };
    const runtime = await createRuntime({ store, adapters: [diskAdapter('first', world)], background: false, telemetry });
    gap.round = () => runtime.tick();
    const results = await Promise.all(['a', 'b', 'c'].map((name) => runtime.run(createDisk, { name, size: 1 })));
    expect(rounds).toBe(3);
    expect(results.map((result) => result.replayed)).toEqual([false, false, false]);
    expect(world.calls.sort()).toEqual(['first:create:a', 'first:create:b', 'first:create:c']);
    expect(store.list(OperationEntity)).toHaveLength(0);
    await runtime.close();
  });

  it('runs operations at once: applies of different entities overlap', async () => {
    const store = await openStore({ entities: [Disk, Note], log: memoryLog() });
    let running = 0;
    let runningMax = 0;
    const slow: InfrastructureAdapter = {
      name: 'slow',
      kinds: ['disk'],
      async apply() {
        running += 1;
        runningMax = Math.max(runningMax, running);
        await new Promise((resolve) => setTimeout(resolve, 20));
        running -= 1;
      },
    };
    const runtime = await createRuntime({ store, adapters: [slow], background: false, concurrency: 8 });
    await Promise.all(Array.from({ length: 16 }, (_, index) => runtime.run(createDisk, { name: `d${index}`, size: 1 })));
    expect(runningMax).toBe(8);
    await runtime.close();
  });
});

/** A clock that tests move by hand; a sleep lets the event loop run, then moves it by the sleep. */
function manualClock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(() => ((now += ms), resolve()), 1)),
    advance(ms: number) {
      now += ms;
    },
  };
}

/** An adapter whose apply waits until the test lets it go, to hold an operation between commit and outcome. */
function gatedAdapter(world: { disks: Map<string, number>; calls: string[] }) {
  const gates: (() => void)[] = [];
  let reached: () => void = () => undefined;
  const adapter: InfrastructureAdapter = {
    name: 'first',
    kinds: ['disk'],
    async apply({ changes, position, epoch }) {
      world.calls.push(`${changes[0]?.op}:${diskNameOf(changes[0]?.after ?? changes[0]?.before)}@${position}.${epoch}`);
      reached();
      await new Promise<void>((resolve) => gates.push(resolve));
      for (const change of changes) {
        if (change.after === undefined) world.disks.delete(change.id);
        else world.disks.set(change.id, change.after.data.size as number);
      }
    },
  };
  return {
    adapter,
    reached: () => new Promise<void>((resolve) => (reached = resolve)),
    open: () => gates.splice(0).forEach((gate) => gate()),
  };
}

describe('entities held by unsettled operations', () => {
  it('a plan that writes a held entity waits for the holder, then replans; with no wait it fails with ENTITY_BUSY', async () => {
    const store = await openStore({ entities: [Disk, Note], log: memoryLog() });
    const world = { disks: new Map<string, number>(), calls: [] as string[] };
    const gated = gatedAdapter(world);
    const runtime = await createRuntime({ store, adapters: [gated.adapter], background: false });
    const impatient = await createRuntime({ store, adapters: [gated.adapter], background: false, entityBusyWaitMs: 0 });
    const reached = gated.reached();
    const created = runtime.run(createDisk, { name: 'a', size: 1 });
    await reached;
    const id = store.list(Disk)[0]!.id;
    const busy = await rejection(impatient.run(resizeDisk, { id, size: 2 }));
    expect(busy).toMatchObject({ code: 'ENTITY_BUSY', step: 'plan', entity: { kind: 'disk', id }, details: { operation: 'disk.create', runtime: runtime.id } });
    expect(busy.details?.position).toBe(store.outcome(busy.details?.requestId as string)?.position);
    expect(busy.details?.position).toBeGreaterThan(0);
    // The waiting one runs after the holder settled, so the adapter sees create then update.
    const resized = runtime.run(resizeDisk, { id, size: 3 });
    const reachedAgain = gated.reached();
    gated.open();
    await created;
    await reachedAgain;
    gated.open();
    await resized;
    expect(world.calls.map((call) => call.split('@')[0])).toEqual(['create:a', 'update:a']);
    expect(world.disks.get(id)).toBe(3);
  });
});

describe('ownership and takeover', () => {
  async function twoRuntimes(options: { takeoversMax?: number } = {}) {
    const log = memoryLog();
    const clock = manualClock();
    const [storeA, storeB] = await Promise.all([openStore({ entities: [Disk, Note], log }), openStore({ entities: [Disk, Note], log })]);
    const worldA = { disks: new Map<string, number>(), calls: [] as string[] };
    const gated = gatedAdapter(worldA);
    const common = { background: false, clock, leaseMs: 1_000, settleWaitMs: 0, ...options };
    const a = await createRuntime({ store: storeA, adapters: [gated.adapter], ...common });
    const worldB = { disks: new Map<string, number>(), calls: [] as string[] };
    const b = await createRuntime({ store: storeB, adapters: [diskAdapter('first', worldB)], ...common });
    return { log, clock, storeA, storeB, a, b, gated, worldA, worldB };
  }

  it('a live runtime takes over a silent owner after its lease expires, applies with a higher epoch, and the stale owner is fenced', async () => {
    const { clock, storeA, storeB, a, b, gated, worldB } = await twoRuntimes();
    const reached = gated.reached();
    const run = a.run(createDisk, { name: 'x', size: 4 }, { requestId: 'req-x' });
    await reached;
    await b.tick();
    expect(b.recovered).toEqual([]);
    clock.advance(1_001);
    await b.tick();
    expect(b.recovered).toMatchObject([{ operation: 'disk.create', requestId: 'req-x', outcome: 'applied' }]);
    expect(worldB.calls).toEqual(['first:create:x']);
    // The old owner's apply returns late: its outcome is refused, and it answers the true outcome.
    gated.open();
    await storeA.sync();
    const late = await run.then(
      (result) => result,
      (error: unknown) => error as OperationError,
    );
    expect(late).toMatchObject({ replayed: false });
    await a.tick();
    expect(a.id).not.toBeUndefined();
    expect(storeA.list(OperationEntity)).toEqual([]);
    expect(storeB.list(HoldEntity)).toEqual([]);
    const replay = await b.run(createDisk, { name: 'x', size: 4 }, { requestId: 'req-x' });
    expect(replay.replayed).toBe(true);
  });

  it('a runtime whose lease was taken while it was silent gets RUNTIME_FENCED for a plan it commits, then serves under a new lease', async () => {
    const { clock, storeA, a, b, gated } = await twoRuntimes();
    const first = a.id;
    clock.advance(1_001);
    await b.tick();
    await storeA.sync();
    const fenced = await rejection(a.run(createDisk, { name: 'late', size: 1 }));
    expect(fenced).toMatchObject({ code: 'RUNTIME_FENCED', step: 'commit', details: { lease: first } });
    expect(storeA.list(Disk)).toEqual([]);
    const reached = gated.reached();
    const again = a.run(createDisk, { name: 'late', size: 1 });
    await reached;
    gated.open();
    await again;
    expect(a.id).not.toBe(first);
    expect(storeA.get(LeaseEntity, first!)).toBeUndefined();
  });

  it('a renewal racing a takeover: exactly one wins', async () => {
    for (let round = 0; round < 10; round += 1) {
      const log = memoryLog();
      const [storeA, storeB] = await Promise.all([openStore({ entities: [Disk, Note], log }), openStore({ entities: [Disk, Note], log })]);
      const leaseId = await registerLease(storeA, { name: undefined, expiresAt: 10 });
      const taker = await registerLease(storeB, { name: undefined, expiresAt: 1_000 });
      await storeB.sync();
      const [renewed, moved] = await Promise.all([renewLease(storeA, leaseId, 2_000), takeOver(storeB, leaseId, { owner: taker, now: 100 })]);
      await Promise.all([storeA.sync(), storeB.sync()]);
      const lease = storeA.get(LeaseEntity, leaseId);
      if (renewed) expect({ lease: lease?.data.expiresAt, moved }).toEqual({ lease: 2_000, moved: [] });
      else expect(lease).toBeUndefined();
    }
  });

  it('an operation that stops its runtime on every attempt is reverted with OPERATION_TAKEOVERS_EXHAUSTED after takeoversMax takeovers', async () => {
    const log = memoryLog();
    const clock = manualClock();
    const stores: Store[] = [];
    const hang: InfrastructureAdapter = { name: 'first', kinds: ['disk'], apply: () => new Promise<void>(() => undefined) };
    const open = async () => {
      const store = await openStore({ entities: [Disk, Note], log });
      stores.push(store);
      return createRuntime({ store, adapters: [hang], background: false, clock, leaseMs: 1_000, takeoversMax: 2 });
    };
    const first = await open();
    void first.run(createDisk, { name: 'doomed', size: 1 }, { requestId: 'doomed' });
    // Each next runtime takes the operation over at its start and stops inside its apply too.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      clock.advance(1_001);
      void open();
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
    clock.advance(1_001);
    const world = { disks: new Map<string, number>(), calls: [] as string[] };
    const store = await openStore({ entities: [Disk, Note], log });
    const last = await createRuntime({ store, adapters: [diskAdapter('first', world)], background: false, clock, leaseMs: 1_000, takeoversMax: 2 });
    expect(last.recovered).toMatchObject([{ requestId: 'doomed', outcome: 'reverted', error: { code: 'OPERATION_TAKEOVERS_EXHAUSTED' } }]);
    expect(store.list(Disk)).toEqual([]);
    expect(world.calls).toEqual(['first:delete:doomed']);
    const replay = await rejection(last.run(createDisk, { name: 'doomed', size: 1 }, { requestId: 'doomed' }));
    expect(replay.code).toBe('OPERATION_TAKEOVERS_EXHAUSTED');
  });
});

describe('restart', () => {
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
    const runtime = await createRuntime({ store, adapters: [hang], name: 'cp-1', background: false });
    void runtime.run(createDisk, { name: 'pending', size: 7 }, { requestId: 'req-pending' });
    await reached;
    return { log };
  }

  it('a runtime restarted under its name takes over its operations at once and finishes them', async () => {
    const { log } = await commitWithoutOutcome();
    const store = await openStore({ entities: [Disk, Note], log });
    const world = { disks: new Map<string, number>(), calls: [] as string[] };
    const runtime = await createRuntime({ store, adapters: [diskAdapter('first', world)], name: 'cp-1', background: false });
    expect(runtime.recovered).toMatchObject([{ operation: 'disk.create', record: 'operation', outcome: 'applied' }]);
    expect(world.calls).toEqual(['first:create:pending']);
    const [disk] = store.list(Disk);
    expect(world.disks.get(`first/${disk!.id}`)).toBe(7);
    const outcome = (await store.read({ from: 1 })).map((record) => readMeta(record)).find((meta) => meta?.type === 'outcome');
    expect(outcome).toMatchObject({ type: 'outcome', recovered: true });
    expect((await runtime.run(createDisk, { name: 'pending', size: 7 }, { requestId: 'req-pending' })).replayed).toBe(true);
    const again = await createRuntime({ store, adapters: [diskAdapter('first', world)], name: 'cp-1', background: false });
    expect(again.recovered).toEqual([]);
  });

  it('a runtime with another name leaves a live lease alone: it applies nothing another runtime owns', async () => {
    const { log } = await commitWithoutOutcome();
    const store = await openStore({ entities: [Disk, Note], log });
    const world = { disks: new Map<string, number>(), calls: [] as string[] };
    const runtime = await createRuntime({ store, adapters: [diskAdapter('first', world)], name: 'cp-2', background: false });
    await runtime.tick();
    expect(runtime.recovered).toEqual([]);
    expect(world.calls).toEqual([]);
    const replay = await rejection(createRuntime({ store, adapters: [diskAdapter('first', world)], background: false, settleWaitMs: 0 }).then((other) => other.run(createDisk, { name: 'pending', size: 7 }, { requestId: 'req-pending' })));
    expect(replay.code).toBe('OPERATION_UNSETTLED');
  });

  it('reverts it when the adapter fails again, so the log shows it did not happen', async () => {
    const { log } = await commitWithoutOutcome();
    const store = await openStore({ entities: [Disk, Note], log });
    const world = { disks: new Map<string, number>(), calls: [] as string[], failOn: 'pending' };
    const runtime = await createRuntime({ store, adapters: [diskAdapter('first', world)], name: 'cp-1', background: false });
    expect(runtime.recovered).toMatchObject([{ operation: 'disk.create', outcome: 'reverted', error: { code: 'ADAPTER_FAILED' } }]);
    expect(store.list(Disk)).toEqual([]);
    expect(world.disks.size).toBe(0);
    const replay = await rejection(runtime.run(createDisk, { name: 'pending', size: 7 }, { requestId: 'req-pending' }));
    expect(replay.code).toBe('ADAPTER_FAILED');
  });

  it('refuses to take over without an adapter the log needs', async () => {
    const { log } = await commitWithoutOutcome();
    const store = await openStore({ entities: [Disk, Note], log });
    await expect(createRuntime({ store, adapters: [], name: 'cp-1', background: false })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('compensation without lost updates', () => {
  it('a revert keeps a change a plain transaction committed to the entity since, and says so', async () => {
    const store = await openStore({ entities: [Disk, Note], log: memoryLog() });
    const id = (await store.transact((tx) => tx.create(Disk, { name: 'a', size: 1 }))).value.id;
    const failing: InfrastructureAdapter = {
      name: 'first',
      kinds: ['disk'],
      async apply() {
        await store.transact((tx) => tx.update(Disk, id, { size: 99 }));
        throw new Error('disk array offline');
      },
    };
    const runtime = await createRuntime({ store, adapters: [failing], background: false });
    const error = await rejection(runtime.run(resizeDisk, { id, size: 5 }));
    expect(error).toMatchObject({ code: 'ADAPTER_FAILED', details: { superseded: [{ kind: 'disk', id }] } });
    expect(store.get(Disk, id)?.data.size).toBe(99);
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

  it('rejects with OUTCOME_UNKNOWN; the runtime settles the operation itself once the log works again', async () => {
    const inner = memoryLog();
    const failing = { on: false };
    const store = await openStore({ entities: [Disk, Note], log: failingLog(inner, failing) });
    const world = { disks: new Map<string, number>(), calls: [] as string[] };
    const adapter = diskAdapter('first', world);
    const breaking: InfrastructureAdapter = { ...adapter, apply: async (input) => { await adapter.apply(input); failing.on = true; } };
    const runtime = await createRuntime({ store, adapters: [breaking], background: false, name: 'cp' });
    const error = await rejection(runtime.run(createDisk, { name: 'a', size: 3 }, { requestId: 'r-a' }));
    expect(error).toMatchObject({ code: 'OUTCOME_UNKNOWN', step: 'apply', details: { operation: 'disk.create', requestId: 'r-a' } });
    // This store cannot tell whether its failed append landed; a new one on the same log can.
    const reopened = await openStore({ entities: [Disk, Note], log: inner });
    const fresh = { disks: new Map<string, number>(), calls: [] as string[] };
    const next = await createRuntime({ store: reopened, adapters: [diskAdapter('first', fresh)], background: false, name: 'cp' });
    expect(next.recovered).toMatchObject([{ operation: 'disk.create', outcome: 'applied' }]);
    expect(fresh.calls).toEqual(['first:create:a']);
    expect(reopened.list(OperationEntity)).toEqual([]);
    expect((await next.run(createDisk, { name: 'a', size: 3 }, { requestId: 'r-a' })).replayed).toBe(true);
  });
});
