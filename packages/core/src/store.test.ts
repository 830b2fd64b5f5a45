import { describe, expect, it } from 'vitest';
import { memoryLog, openStore, type LogRecord, type LogStore, type Store } from '@ordo/core';
import { Counter, failure, Host, open, Vm } from '../test-support/model.js';

async function collect(iterator: AsyncIterableIterator<LogRecord>, count: number): Promise<LogRecord[]> {
  const seen: LogRecord[] = [];
  for await (const record of iterator) {
    seen.push(record);
    if (seen.length === count) break;
  }
  return seen;
}

describe('idempotency (I7)', () => {
  it('returns the first outcome for a requestId already in the log, runs nothing and writes nothing', async () => {
    const store = await open();
    let runs = 0;
    const create = () =>
      store.transact(
        (tx) => {
          runs += 1;
          return tx.create(Vm, { name: 'once', memoryMiB: 1 }).id;
        },
        { requestId: 'req-1' },
      );
    const first = await create();
    const second = await create();
    expect(first.replayed).toBe(false);
    expect(second).toMatchObject({ value: first.value, position: first.position, txId: first.txId, replayed: true });
    expect(runs).toBe(1);
    expect(store.position).toBe(1);
  });

  it('answers concurrent calls with the same requestId from one run', async () => {
    const store = await open();
    let runs = 0;
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        store.transact(
          async (tx) => {
            runs += 1;
            await new Promise((resolve) => setTimeout(resolve, 2));
            return tx.create(Counter, { value: 1 }).id;
          },
          { requestId: 'same' },
        ),
      ),
    );
    expect(runs).toBe(1);
    expect(new Set(results.map((result) => result.value)).size).toBe(1);
    expect(results.filter((result) => !result.replayed)).toHaveLength(1);
    expect(store.position).toBe(1);
  });

  it('remembers requestIds after a restart, from the log and from a snapshot', async () => {
    const log = memoryLog();
    const store = await open(log);
    await store.transact((tx) => tx.create(Counter, { value: 1 }).id, { requestId: 'r1' });
    await store.close();
    const reopened = await open(log);
    const replay = await reopened.transact(() => 'never runs', { requestId: 'r1' });
    expect(replay.replayed).toBe(true);
    expect(typeof replay.value).toBe('string');
    await reopened.snapshot();
    await reopened.close();
    const fromSnapshot = await open(log);
    expect((await fromSnapshot.transact(() => 'never runs', { requestId: 'r1' })).value).toBe(replay.value);
    expect(fromSnapshot.position).toBe(1);
  });

  it('keeps the outcome of a request frozen when it comes back from a decoded log or snapshot', async () => {
    const inner = memoryLog();
    // Like the file and PostgreSQL stores: what is read back is new, unfrozen objects.
    const decoding: LogStore = {
      name: 'decoding',
      multiWriter: inner.multiWriter,
      open: async () => structuredClone(await inner.open()),
      append: (records) => inner.append(records),
      head: () => inner.head(),
      subscribe: (listener) => inner.subscribe(listener),
      writeSnapshot: (snapshot) => inner.writeSnapshot!(snapshot),
      close: () => inner.close(),
      read: async (from, limit) => structuredClone(await inner.read(from, limit)),
    };
    const run = (store: Store) => store.transact((tx) => ({ id: tx.create(Counter, { value: 1 }).id, tags: ['a'] }), { requestId: 'r1' });
    const first = await open(decoding);
    await run(first);
    await first.close();
    for (const source of ['log', 'snapshot'] as const) {
      const store = await open(decoding);
      const replay = await run(store);
      expect(replay.replayed, source).toBe(true);
      // A caller that changes what it got cannot change what the next replay answers (I7).
      expect(Object.isFrozen(replay.value), source).toBe(true);
      expect(Object.isFrozen(replay.value.tags), source).toBe(true);
      if (source === 'log') await store.snapshot();
      await store.close();
    }
  });

  it('answers store.outcome from the folded state: known after commit, frozen, and seen by another process after sync', async () => {
    const log = memoryLog();
    const writer = await open(log);
    const reader = await open(log);
    expect(writer.outcome('r-out')).toBeUndefined();
    const committed = await writer.transact((tx) => ({ id: tx.create(Counter, { value: 1 }).id }), { requestId: 'r-out' });
    const outcome = writer.outcome('r-out');
    expect(outcome).toEqual({ position: committed.position, txId: committed.txId, result: committed.value });
    expect(Object.isFrozen(outcome)).toBe(true);
    expect(Object.isFrozen(outcome?.result)).toBe(true);
    await writer.transact(() => undefined, { requestId: 'r-none' });
    expect(writer.outcome('r-none')).toEqual({ position: 2, txId: expect.any(String), result: undefined });
    // Another process on the same log knows the request once it has folded the record.
    await reader.sync();
    expect(reader.outcome('r-out')).toEqual(outcome);
    expect((await failure(Promise.resolve().then(() => writer.outcome('')))).code).toBe('INVALID_ARGUMENT');
    await writer.close();
    expect(writer.outcome('r-out')).toEqual(outcome);
    await reader.close();
  });

  it('lets a failed request run again: nothing of it is in the log', async () => {
    const store = await open();
    await failure(store.transact(() => Promise.reject(new Error('first try fails')), { requestId: 'r' }));
    const retried = await store.transact((tx) => tx.create(Counter, { value: 2 }).data.value, { requestId: 'r' });
    expect(retried).toMatchObject({ value: 2, replayed: false });
  });

  it('requires a JSON result when a requestId is given', async () => {
    const store = await open();
    expect(await failure(store.transact(() => 10n, { requestId: 'big' }))).toMatchObject({ code: 'RESULT_NOT_JSON', requestId: 'big' });
    expect(store.position).toBe(0);
  });
});

describe('transaction results', () => {
  it('tells a committed run, a replay and a read-only run apart; a read-only run has no record and draws no id', async () => {
    let drawn = 0;
    const store = await open(memoryLog(), { ids: () => `id-${(drawn += 1)}` });
    const committed = await store.transact((tx) => tx.create(Counter, { value: 1 }).id, { requestId: 'r' });
    expect(committed).toMatchObject({ type: 'committed', position: 1, replayed: false });
    expect(committed.changes).toHaveLength(1);
    const replayed = await store.transact(() => 'never runs', { requestId: 'r' });
    expect(replayed).toEqual({ type: 'replayed', value: committed.value, position: 1, txId: committed.txId, replayed: true, changes: [] });
    const before = drawn;
    const readOnly = await store.transact((tx) => tx.list(Counter).length);
    expect(readOnly).toEqual({ type: 'read-only', value: 1, position: 1, replayed: false, changes: [] });
    expect(readOnly.txId).toBeUndefined();
    expect(drawn).toBe(before);
    expect(store.position).toBe(1);
    // Metadata alone is something to write: that run commits a record without changes.
    const withMeta = await store.transact(() => 'noted', { meta: { note: 'x' } });
    expect(withMeta).toMatchObject({ type: 'committed', position: 2, changes: [] });
    await store.close();
  });

  it('refuses store.snapshot() with SNAPSHOT_UNSUPPORTED when the log store keeps no snapshots', async () => {
    const inner = memoryLog();
    const noSnapshots: LogStore = {
      name: 'plain',
      multiWriter: inner.multiWriter,
      open: () => inner.open(),
      append: (records) => inner.append(records),
      read: (from, limit) => inner.read(from, limit),
      head: () => inner.head(),
      subscribe: (listener) => inner.subscribe(listener),
      close: () => inner.close(),
    };
    const store = await open(noSnapshots);
    expect(await failure(store.snapshot())).toMatchObject({ code: 'SNAPSHOT_UNSUPPORTED', store: 'plain' });
    await store.close();
  });
});

describe('watch (I9)', () => {
  it('delivers every record once, in order, from any position, while commits continue', async () => {
    const store = await open();
    for (let index = 0; index < 50; index += 1) await store.transact((tx) => tx.create(Counter, { value: index }));
    const fromStart = collect(store.watch({ from: 1 }), 300);
    const fromMiddle = collect(store.watch({ from: 37 }), 264);
    const writers = Array.from({ length: 5 }, async (_, writer) => {
      for (let index = 0; index < 50; index += 1) {
        await store.transact((tx) => tx.create(Counter, { value: writer * 1000 + index }));
        if (index % 7 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
      }
    });
    await Promise.all(writers);
    const [all, middle] = await Promise.all([fromStart, fromMiddle]);
    expect(all.map((record) => record.position)).toEqual(Array.from({ length: 300 }, (_, index) => index + 1));
    expect(middle.map((record) => record.position)).toEqual(Array.from({ length: 264 }, (_, index) => index + 37));
    expect(all).toEqual(await store.read({ from: 1, limit: 300 }));
  });

  it('filters by kind and starts after the head by default', async () => {
    const store = await open();
    await store.transact((tx) => tx.create(Counter, { value: 0 }));
    const hosts = store.watch({ kinds: ['host'] });
    const next = hosts.next();
    await store.transact((tx) => tx.create(Counter, { value: 1 }));
    await store.transact((tx) => tx.create(Host, { name: 'h', memoryMiB: 1 }));
    const { value } = await next;
    expect((value as LogRecord).position).toBe(3);
    await hosts.return?.();
  });

  it('rejects a transaction that finishes after the store closed, read-only or not', async () => {
    const store = await open();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const reader = store.transact(async (tx) => {
      const seen = tx.get(Counter, 'k');
      await gate;
      return seen;
    });
    const writer = store.transact(async (tx) => {
      await gate;
      tx.create(Counter, { value: 1 });
    });
    await store.close();
    release();
    expect(await failure(reader)).toMatchObject({ code: 'STORE_CLOSED' });
    expect(await failure(writer)).toMatchObject({ code: 'STORE_CLOSED' });
  });

  it('ends iteration when the store closes, and rejects bad positions', async () => {
    const store = await open();
    expect(() => store.watch({ from: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const watcher = store.watch();
    const pending = watcher.next();
    await store.close();
    expect(await pending).toEqual({ value: undefined, done: true });
  });
});

describe('derived state (I3)', () => {
  async function buildHistory() {
    const log = memoryLog();
    const store = await open(log);
    const hosts: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      hosts.push((await store.transact((tx) => tx.create(Host, { name: `h${index}`, memoryMiB: 1024 }))).value.id);
    }
    await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        store.transact(
          (tx) => {
            const existing = tx.find(Vm, { name: `vm${index % 60}` })[0];
            const hostId = hosts[index % 5] as string;
            if (existing === undefined) tx.create(Vm, { name: `vm${index % 60}`, hostId, memoryMiB: 64 });
            else if (index % 3 === 0) tx.delete(Vm, existing.id);
            else tx.update(Vm, existing.id, (draft) => void ((draft.hostId = hostId), (draft.memoryMiB += 1)));
          },
          { retries: 1000, ...(index % 10 === 0 ? { requestId: `r${index}` } : {}) },
        ),
      ),
    );
    return { log, store };
  }

  it('rebuilding from the log gives exactly the incrementally maintained state', async () => {
    const { log, store } = await buildHistory();
    const incremental = store.dump();
    expect(incremental.entities.length).toBeGreaterThan(5);
    await store.close();
    const rebuilt = await open(log);
    expect(rebuilt.dump()).toEqual(incremental);
  });

  it('a snapshot plus the log after it gives the same state as a full replay', async () => {
    const log = memoryLog();
    const { store } = await buildHistory().then(async ({ log: built, store: first }) => {
      await first.close();
      // Copy the history into a log that will hold a snapshot in the middle.
      const records = await built.read(1, 10_000);
      const half = Math.floor(records.length / 2);
      await log.append(records.slice(0, half));
      const partial = await open(log);
      await partial.snapshot();
      await partial.close();
      await log.append(records.slice(half));
      return { store: await open(built) };
    });
    const fromSnapshot = await open(log);
    expect((await log.open()).snapshot?.position).toBeGreaterThan(0);
    expect(fromSnapshot.dump()).toEqual(store.dump());
  });

  it('takes automatic snapshots every snapshotEvery records', async () => {
    const log = memoryLog({ snapshotEvery: 10 });
    const store = await open(log);
    for (let index = 0; index < 25; index += 1) await store.transact((tx) => tx.create(Counter, { value: index }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const { snapshot } = await log.open();
    expect(snapshot?.position).toBeGreaterThanOrEqual(20);
    expect(snapshot?.entities).toHaveLength(snapshot?.position ?? -1);
  });
});

describe('opening', () => {
  it('closes the log store when its open fails, and passes the error on', async () => {
    const log = memoryLog();
    let closes = 0;
    const failing = Object.assign(Object.create(log) as typeof log, {
      open: () => Promise.reject(new Error('the network went away')),
      close: async () => {
        closes += 1;
        await log.close();
      },
    });
    await expect(openStore({ entities: [Vm], log: failing })).rejects.toThrow('the network went away');
    expect(closes).toBe(1);
  });

  it('closes the log store and ends its subscription when the first catch-up fails', async () => {
    const log = memoryLog();
    const listening = new Set<(head: number) => void>();
    let closes = 0;
    const failing = Object.assign(Object.create(log) as typeof log, {
      read: () => Promise.reject(new Error('the disk went away')),
      subscribe: (listener: (head: number) => void) => {
        listening.add(listener);
        return () => listening.delete(listener);
      },
      close: async () => {
        closes += 1;
        await log.close();
      },
    });
    const writer = await open(log);
    await writer.transact((tx) => tx.create(Counter, { value: 1 }));
    await expect(openStore({ entities: [Counter], log: failing })).rejects.toThrow('the disk went away');
    expect(closes).toBe(1);
    expect(listening.size).toBe(0);
    await writer.close();
  });
});
