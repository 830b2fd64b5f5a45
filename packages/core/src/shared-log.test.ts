import { describe, expect, it } from 'vitest';
import { HistoryUnavailableError, isOrdoError, LogHeadMovedError, memoryLog, type LogRecord, type LogStore } from '@ordo/core';
import { Counter, failure, open } from '../test-support/model.js';

describe('several stores sharing one log (the path PostgreSQL takes)', () => {
  it('serializes commits from two stores: no lost update, gapless positions, equal states', async () => {
    const log = memoryLog();
    const [a, b] = await Promise.all([open(log), open(log)]);
    const { value: counter } = await a.transact((tx) => tx.create(Counter, { value: 0 }, { id: 'c' }));
    const increment = (store: typeof a) =>
      store.transact((tx) => tx.update(Counter, counter.id, (draft) => void (draft.value += 1)), { retries: 1000 });
    await Promise.all(Array.from({ length: 100 }, (_, index) => increment(index % 2 === 0 ? a : b)));
    await Promise.all([a.sync(), b.sync()]);
    expect(a.get(Counter, 'c')?.data.value).toBe(100);
    expect(b.dump()).toEqual(a.dump());
    const records = await log.read(1, 1000);
    expect(records.map((record) => record.position)).toEqual(Array.from({ length: 101 }, (_, index) => index + 1));
  });

  it('orders by real time: a read-only transaction started after another store committed sees the commit', async () => {
    const log = memoryLog();
    const [a, b] = await Promise.all([open(log), open(log)]);
    const { position } = await a.transact((tx) => tx.create(Counter, { value: 7 }, { id: 'x' }));
    const seen = await b.transact((tx) => tx.list(Counter).length);
    expect(seen.value).toBe(1);
    expect(seen.position).toBeGreaterThanOrEqual(position);
    const written = await b.transact((tx) => tx.update(Counter, 'x', { value: 8 }));
    expect(written.position).toBeGreaterThan(position);
  });

  it('wakes a watcher on one store when another store commits', async () => {
    const log = memoryLog();
    const [a, b] = await Promise.all([open(log), open(log)]);
    const watcher = b.watch({ from: 1 });
    const first = watcher.next();
    await a.transact((tx) => tx.create(Counter, { value: 1 }));
    expect(((await first).value as LogRecord).position).toBe(1);
    await watcher.return?.();
  });

  it('hands a watcher frozen records when the log store reads back records it did not freeze', async () => {
    const inner = memoryLog();
    // Like the file and PostgreSQL stores: every read decodes new, unfrozen objects.
    const decoding: LogStore = {
      name: 'decoding',
      multiWriter: inner.multiWriter,
      open: () => inner.open(),
      append: (records) => inner.append(records),
      head: () => inner.head(),
      subscribe: (listener) => inner.subscribe(listener),
      close: () => inner.close(),
      read: async (from, limit) => structuredClone(await inner.read(from, limit)),
    };
    const [a, b] = await Promise.all([open(inner), open(decoding)]);
    const watcher = b.watch();
    const next = watcher.next();
    await a.transact((tx) => tx.create(Counter, { value: 1 }));
    await b.sync();
    const record = (await next).value as LogRecord;
    expect(record.position).toBe(1);
    expect(Object.isFrozen(record)).toBe(true);
    expect(Object.isFrozen(record.changes[0])).toBe(true);
    await watcher.return?.();
  });

  it('folds the records a lost append brought back with LogHeadMovedError instead of reading them', async () => {
    const inner = memoryLog();
    const first = await open(inner);
    const { log, reads } = losingLog(inner, (error) => inner.read(error.expected, 100));
    const second = await open(log);
    for (let index = 0; index < 3; index += 1) await first.transact((tx) => tx.create(Counter, { value: index }));
    const before = reads();
    const created = await second.transact((tx) => tx.create(Counter, { value: 9 }, { id: 'late' }));
    expect(created.position).toBe(4);
    expect(reads()).toBe(before);
    await first.sync();
    expect(second.dump()).toEqual(first.dump());
  });

  it('catches up by reading when the records of a LogHeadMovedError do not continue its state', async () => {
    const inner = memoryLog();
    const first = await open(inner);
    // Records from one position too far on: folding them would leave a hole, so they are ignored.
    const { log, reads } = losingLog(inner, (error) => inner.read(error.expected + 1, 100));
    const second = await open(log);
    for (let index = 0; index < 3; index += 1) await first.transact((tx) => tx.create(Counter, { value: index }));
    const before = reads();
    const created = await second.transact((tx) => tx.create(Counter, { value: 9 }, { id: 'late' }));
    expect(created.position).toBe(4);
    expect(reads()).toBeGreaterThan(before);
    await first.sync();
    expect(second.dump()).toEqual(first.dump());
  });

  it('reports history that the log store no longer holds with HistoryUnavailableError', async () => {
    const inner = memoryLog();
    const pruned: LogStore = {
      name: 'pruned',
      multiWriter: false,
      open: () => inner.open(),
      append: (records) => inner.append(records),
      head: () => inner.head(),
      subscribe: (listener) => inner.subscribe(listener),
      close: () => inner.close(),
      async read(from, limit) {
        if (from < 3) throw new HistoryUnavailableError({ requested: from, firstAvailable: 3 });
        return inner.read(from, limit);
      },
    };
    const seed = await open(inner);
    for (let index = 0; index < 4; index += 1) await seed.transact((tx) => tx.create(Counter, { value: index }));
    await seed.snapshot();
    await seed.close();
    const store = await open(pruned);
    expect(await failure(store.watch({ from: 1 }).next())).toMatchObject({ code: 'HISTORY_UNAVAILABLE', firstAvailable: 3 });
    const fromThree = await store.watch({ from: 3 }).next();
    expect((fromThree.value as LogRecord).position).toBe(3);
  });
});

/**
 * A view of a shared log that hears nothing of other writers (so its appends lose the race)
 * and whose lost appends carry the records `brought` returns, as PostgreSQL's do.
 */
function losingLog(inner: LogStore, brought: (error: LogHeadMovedError) => Promise<LogRecord[]>): { log: LogStore; reads: () => number } {
  let reads = 0;
  const log: LogStore = {
    name: 'losing',
    multiWriter: true,
    open: () => inner.open(),
    head: () => inner.head(),
    subscribe: () => () => undefined,
    close: () => inner.close(),
    async read(from, limit) {
      reads += 1;
      return inner.read(from, limit);
    },
    async append(records) {
      try {
        await inner.append(records);
      } catch (error) {
        if (!isOrdoError(error, 'LOG_HEAD_MOVED')) throw error;
        throw new LogHeadMovedError({ expected: error.expected, actual: error.actual, records: structuredClone(await brought(error)) });
      }
    },
  };
  return { log, reads: () => reads };
}
