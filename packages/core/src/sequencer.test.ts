import { describe, expect, it } from 'vitest';
import { memoryLog, type LogRecord, type LogStore } from '@ordo/core';
import { Counter, failure, Host, open, Vm } from '../test-support/model.js';

/** A log store whose appends wait until the test releases them. */
function gatedLog(): { log: LogStore; release(): void; appending: () => number } {
  const inner = memoryLog();
  let gate: (() => void) | undefined;
  let waiting = 0;
  const log: LogStore = {
    ...inner,
    name: 'gated',
    multiWriter: inner.multiWriter,
    open: () => inner.open(),
    read: (from, limit) => inner.read(from, limit),
    head: () => inner.head(),
    subscribe: (listener) => inner.subscribe(listener),
    close: () => inner.close(),
    async append(records: readonly LogRecord[]) {
      waiting += 1;
      await new Promise<void>((resolve) => (gate = resolve));
      waiting -= 1;
      return inner.append(records);
    },
  };
  return { log, release: () => gate?.(), appending: () => waiting };
}

describe('serialization and optimistic concurrency', () => {
  it('gives gapless positions, one record per committed transaction (I1)', async () => {
    const store = await open();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, index) => store.transact((tx) => tx.create(Counter, { value: index }))),
    );
    const positions = results.map((result) => result.position).sort((a, b) => a - b);
    expect(positions).toEqual(Array.from({ length: 200 }, (_, index) => index + 1));
    const records = await store.read({ from: 1 });
    expect(records.map((record) => record.position)).toEqual(positions);
    expect(new Set(records.map((record) => record.txId)).size).toBe(200);
    expect(records.every((record) => record.changes.length === 1)).toBe(true);
  });

  it('loses no update: 500 concurrent increments of one counter give exactly 500', async () => {
    const store = await open();
    const { value: counter } = await store.transact((tx) => tx.create(Counter, { value: 0 }));
    await Promise.all(
      Array.from({ length: 500 }, () =>
        store.transact((tx) => tx.update(Counter, counter.id, (draft) => void (draft.value += 1)), { retries: 1000 }),
      ),
    );
    expect(store.get(Counter, counter.id)?.data.value).toBe(500);
    expect(store.get(Counter, counter.id)?.version).toBe(501);
    expect(store.position).toBe(501);
  });

  it('prevents write skew and phantoms: two "add a VM only if the host has none" both see none, one commits', async () => {
    const store = await open();
    const { value: host } = await store.transact((tx) => tx.create(Host, { name: 'h1', memoryMiB: 1024 }));
    const placeIfEmpty = (name: string) =>
      store.transact(
        async (tx) => {
          const onHost = tx.find(Vm, { hostId: host.id });
          await new Promise((resolve) => setTimeout(resolve, 5));
          if (onHost.length > 0) return 'skipped';
          tx.create(Vm, { name, hostId: host.id, memoryMiB: 512 });
          return 'placed';
        },
        { retries: 3 },
      );
    const outcomes = await Promise.all([placeIfEmpty('a'), placeIfEmpty('b')]);
    expect(outcomes.map((outcome) => outcome.value).sort()).toEqual(['placed', 'skipped']);
    expect(store.find(Vm, { hostId: host.id })).toHaveLength(1);
  });

  it('detects a phantom from a list read', async () => {
    const store = await open();
    const countThenCreate = (name: string) =>
      store.transact(
        async (tx) => {
          const count = tx.list(Vm).length;
          await new Promise((resolve) => setTimeout(resolve, 5));
          if (count < 1) tx.create(Vm, { name, memoryMiB: 1 });
        },
        { retries: 3 },
      );
    await Promise.all([countThenCreate('a'), countThenCreate('b')]);
    expect(store.list(Vm)).toHaveLength(1);
  });

  it('fails with ConflictError naming the entity when retries are spent', async () => {
    const store = await open();
    const { value: counter } = await store.transact((tx) => tx.create(Counter, { value: 0 }));
    let runs = 0;
    const error = await failure(
      store.transact(
        async (tx) => {
          runs += 1;
          tx.get(Counter, counter.id);
          await store.transact((inner) => inner.update(Counter, counter.id, { value: runs }));
          tx.update(Counter, counter.id, { value: -1 });
        },
        { retries: 2 },
      ),
    );
    expect(error).toMatchObject({ code: 'CONFLICT', attempts: 3, conflicts: [{ kind: 'counter', id: counter.id }] });
    expect(runs).toBe(3);
    expect(store.get(Counter, counter.id)?.data.value).toBe(3);
  });

  it('fails a stale expectedVersion at once with VersionMismatchError, without retrying', async () => {
    const store = await open();
    const { value: counter } = await store.transact((tx) => tx.create(Counter, { value: 0 }));
    await store.transact((tx) => tx.update(Counter, counter.id, { value: 1 }, { expectedVersion: 1 }));
    let runs = 0;
    const error = await failure(
      store.transact((tx) => {
        runs += 1;
        tx.update(Counter, counter.id, { value: 2 }, { expectedVersion: 1 });
      }),
    );
    expect(error).toMatchObject({ code: 'VERSION_MISMATCH', expected: 1, actual: 2, id: counter.id });
    expect(runs).toBe(1);
    expect(await failure(store.transact((tx) => tx.delete(Counter, counter.id, { expectedVersion: 5 })))).toMatchObject({
      code: 'VERSION_MISMATCH',
    });
    expect(store.position).toBe(2);
  });

  it('reruns a transaction whose error was decided on reads that changed meanwhile', async () => {
    const store = await open();
    const { value: counter } = await store.transact((tx) => tx.create(Counter, { value: 0 }));
    let runs = 0;
    const result = await store.transact(async (tx) => {
      runs += 1;
      const seen = tx.require(Counter, counter.id).data.value;
      if (runs === 1) await store.transact((inner) => inner.update(Counter, counter.id, { value: 10 }));
      if (seen < 5) throw new Error(`too small: ${seen}`);
      return seen;
    });
    expect(result.value).toBe(10);
    expect(runs).toBe(2);
  });

  it('makes a record visible only after the log store acknowledged it, all at once (I4)', async () => {
    const gated = gatedLog();
    const store = await open(gated.log);
    const commit = store.transact((tx) => {
      tx.create(Host, { name: 'h', memoryMiB: 1 }, { id: 'h' });
      tx.create(Vm, { name: 'v', hostId: 'h', memoryMiB: 1 }, { id: 'v' });
    });
    while (gated.appending() === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    expect(store.get(Host, 'h')).toBeUndefined();
    expect(store.get(Vm, 'v')).toBeUndefined();
    expect(store.find(Vm, { hostId: 'h' })).toEqual([]);
    expect(store.position).toBe(0);
    gated.release();
    await commit;
    expect(store.get(Host, 'h')).toBeDefined();
    expect(store.find(Vm, { hostId: 'h' })).toHaveLength(1);
    expect(store.position).toBe(1);
  });

  it('validates later transactions of one batch against earlier ones', async () => {
    const gated = gatedLog();
    const store = await open(gated.log);
    const first = store.transact((tx) => tx.create(Counter, { value: 0 }, { id: 'c' }));
    while (gated.appending() === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    // Both queue behind the first append and go to the log in one batch.
    const a = store.transact((tx) => (tx.get(Counter, 'd') === undefined ? tx.create(Counter, { value: 1 }, { id: 'd' }) : undefined));
    const b = store.transact((tx) => (tx.get(Counter, 'd') === undefined ? tx.create(Counter, { value: 2 }, { id: 'd' }) : undefined));
    gated.release();
    await first;
    while (gated.appending() === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    gated.release();
    await new Promise((resolve) => setTimeout(resolve, 5));
    gated.release();
    const [resultA, resultB] = await Promise.all([a, b]);
    expect(store.get(Counter, 'd')?.data.value).toBe(1);
    expect(resultA.value).toBeDefined();
    expect(resultB.value).toBeUndefined();
  });
});

describe('the commit queue', () => {
  it('holds at most queuedCommitsMax commits behind the append in flight; one more fails at once, writing nothing', async () => {
    const gated = gatedLog();
    const store = await open(gated.log, { queuedCommitsMax: 2 });
    const first = store.transact((tx) => tx.create(Counter, { value: 0 }));
    while (gated.appending() === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    const queued = [1, 2].map((value) => store.transact((tx) => tx.create(Counter, { value })));
    // Each call runs its function first and queues its commit a few microtasks later.
    await new Promise((resolve) => setTimeout(resolve, 1));
    let runs = 0;
    const refused = await failure(
      store.transact((tx) => {
        runs += 1;
        tx.create(Counter, { value: 3 });
      }),
    );
    expect(refused).toMatchObject({ code: 'COMMIT_QUEUE_FULL', name: 'CommitQueueFullError', queued: 2, queuedMax: 2 });
    expect(runs).toBe(1);
    gated.release();
    await first;
    while (gated.appending() === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    gated.release();
    const results = await Promise.all(queued);
    expect(results.map((result) => result.position)).toEqual([2, 3]);
    expect(store.list(Counter).map((counter) => counter.data.value).sort()).toEqual([0, 1, 2]);
    // With room in the queue again, the same commit goes through.
    const again = store.transact((tx) => tx.create(Counter, { value: 3 }));
    while (gated.appending() === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    gated.release();
    expect((await again).position).toBe(4);
    await store.close();
  });

  it('refuses a queuedCommitsMax that is not a positive integer', async () => {
    for (const queuedCommitsMax of [0, -1, 1.5, Number.NaN]) {
      await expect(open(memoryLog(), { queuedCommitsMax })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'queuedCommitsMax' });
    }
  });
});
