import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { appendRecordsMax, defineEntity, isOrdoError, openStore, type LogRecord, type LogStore, type OrdoErrorCode, type OrdoErrorOf } from '@ordo/core';

const Counter = defineEntity('counter', z.object({ value: z.number() }));

/**
 * One suite for every log store. A harness opens a fresh, empty log and can reopen the same
 * log (as a restart would). Each case asserts the error code the `LogStore` interface
 * documents. Cases about a feature a store lacks are skipped, saying which: snapshots
 * (`writeSnapshot`), several writers (`multiWriter`), a read-only mode (`readOnly`), pruning
 * of history (`pruning`).
 */
export interface LogStoreHarness {
  /** Returns a new store over a new, empty log. */
  fresh(): Promise<LogStore>;
  /** Returns a new store instance over the log that the last `fresh()` created. */
  reopen(): Promise<LogStore>;
  /** Returns a store over the log that the last `fresh()` created, opened read-only. */
  readOnly?(): Promise<LogStore>;
  /** Returns a new store over a new, empty log that prunes records behind its snapshots. */
  pruning?(): Promise<LogStore>;
}

/** Records are handed to `append` frozen, as the core does (the memory store checks it). */
function frozen<Value>(value: Value): Value {
  if (typeof value !== 'object' || value === null) return value;
  for (const item of Object.values(value)) frozen(item);
  return Object.freeze(value);
}

export function record(position: number, extra: Partial<LogRecord> = {}): LogRecord {
  return frozen({
    position,
    txId: `tx-${position}`,
    time: 1_700_000_000_000 + position,
    changes: [{ op: 'create', kind: 'counter', id: `c-${position}`, version: 1, data: { n: position } }],
    ...extra,
  });
}

export function records(from: number, count: number): LogRecord[] {
  return Array.from({ length: count }, (_, index) => record(from + index));
}

/** Resolves to the error `promise` rejects with, after checking its code; fails when it resolves. */
async function expectCode<Code extends OrdoErrorCode>(promise: Promise<unknown>, code: Code): Promise<OrdoErrorOf<Code>> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isOrdoError(error, code)) expect.fail(`expected ${code}, got ${String(error)}`);
  return error;
}

/** Runs `call` and checks that it throws or rejects with `code`, whichever way the store reports it. */
async function expectCodeOf<Code extends OrdoErrorCode>(call: () => Promise<unknown>, code: Code): Promise<OrdoErrorOf<Code>> {
  return expectCode(Promise.resolve().then(call), code);
}

export function describeLogStoreConformance(name: string, harness: LogStoreHarness): void {
  describe(`log store conformance: ${name}`, () => {
    it('opens an empty log at head 0 with no snapshot', async () => {
      const log = await harness.fresh();
      const opened = await log.open();
      expect(opened.head).toBe(0);
      expect(opened.snapshot).toBeUndefined();
      expect(await log.head()).toBe(0);
      expect(await log.read(1, 10)).toEqual([]);
      await log.close();
    });

    it('appends batches and reads back any range, in order', async () => {
      const log = await harness.fresh();
      await log.open();
      await log.append([record(1)]);
      await log.append(records(2, 9));
      expect(await log.head()).toBe(10);
      expect(await log.read(1, 100)).toEqual(records(1, 10));
      expect(await log.read(4, 3)).toEqual(records(4, 3));
      expect(await log.read(10, 5)).toEqual([record(10)]);
      expect(await log.read(11, 5)).toEqual([]);
      await log.close();
    });

    it('keeps every field of a record exactly, including unicode and optional fields', async () => {
      const log = await harness.fresh();
      await log.open();
      const rich = record(1, {
        requestId: 'req-ü-1',
        operation: 'vm.create',
        result: { id: 'x', list: [1, 2.5, null, true] },
        meta: { note: 'snow ☃ and emoji 🚀', nested: { deep: ['a'] } },
        changes: [
          { op: 'create', kind: 'vm', id: 'v1', version: 1, data: { name: 'ä', tags: ['x'], n: -0.5 } },
          { op: 'update', kind: 'vm', id: 'v0', version: 7, data: { name: 'b' } },
          { op: 'delete', kind: 'host', id: 'h1', version: 3 },
        ],
      });
      await log.append([rich]);
      expect(await log.read(1, 1)).toEqual([rich]);
      await log.close();
    });

    it('rejects an append that does not start at head + 1 and writes nothing of it', async () => {
      const log = await harness.fresh();
      await log.open();
      await log.append(records(1, 3));
      await expectCode(log.append([record(3)]), 'LOG_HEAD_MOVED');
      await expectCode(log.append([record(5)]), 'LOG_HEAD_MOVED');
      expect(await log.head()).toBe(3);
      expect(await log.read(1, 10)).toEqual(records(1, 3));
      await log.append([record(4)]);
      expect(await log.head()).toBe(4);
      await log.close();
    });

    it('refuses a malformed batch with INTERNAL and writes nothing of it', async () => {
      const log = await harness.fresh();
      await log.open();
      await log.append([record(1, { requestId: 'r1' })]);
      const malformed: [string, LogRecord[]][] = [
        ['empty', []],
        ['not consecutive', [record(2), record(4)]],
        ['starting below 1', [record(0)]],
        ['without a txId', [record(2, { txId: '' })]],
        ['a requestId twice', [record(2, { requestId: 'r2' }), record(3, { requestId: 'r2' })]],
        ['too large', Array.from({ length: appendRecordsMax + 1 }, (_, index) => record(2 + index))],
      ];
      for (const [what, batch] of malformed) {
        const error = await expectCodeOf(() => log.append(batch), 'INTERNAL');
        expect(error.message, what).toMatch(/internal invariant broken/);
      }
      expect(await log.head()).toBe(1);
      expect(await log.read(1, 10)).toEqual([record(1, { requestId: 'r1' })]);
      await log.append([record(2)]);
      expect(await log.head()).toBe(2);
      await log.close();
    });

    it('refuses a read range that is not integers >= 1 with INVALID_ARGUMENT naming it', async () => {
      const log = await harness.fresh();
      await log.open();
      await log.append(records(1, 2));
      for (const [from, limit, argument] of [
        [0, 1, 'from'],
        [-1, 1, 'from'],
        [1.5, 1, 'from'],
        [Number.NaN, 1, 'from'],
        [1, 0, 'limit'],
        [1, 2.5, 'limit'],
        [1, Number.POSITIVE_INFINITY, 'limit'],
      ] as const) {
        const error = await expectCodeOf(() => log.read(from, limit), 'INVALID_ARGUMENT');
        expect(error.argument, `read(${from}, ${limit})`).toBe(argument);
      }
      expect(await log.read(1, 10)).toEqual(records(1, 2));
      await log.close();
    });

    it('lets exactly one of two writers racing for the same position win; the other gets LOG_HEAD_MOVED', async (context) => {
      const writer = await harness.fresh();
      if (!writer.multiWriter) {
        await writer.close();
        context.skip('single-writer store: a second writer cannot open it');
        return;
      }
      await writer.open();
      const other = await harness.reopen();
      await other.open();
      const mine = record(1, { txId: 'tx-mine', requestId: 'r-mine' });
      const theirs = record(1, { txId: 'tx-theirs', requestId: 'r-theirs' });
      const caught = (error: unknown) => error;
      const [first, second] = await Promise.all([writer.append([mine]).then(() => undefined, caught), other.append([theirs]).then(() => undefined, caught)]);
      // Exactly one of the two rejected, and with LOG_HEAD_MOVED.
      expect([first, second].filter((error) => error === undefined)).toHaveLength(1);
      const refused = first ?? second;
      if (!isOrdoError(refused, 'LOG_HEAD_MOVED')) expect.fail(`expected LOG_HEAD_MOVED, got ${String(refused)}`);
      expect(refused.expected).toBe(1);
      const winner = first === undefined ? mine : theirs;
      expect(await writer.read(1, 10)).toEqual([winner]);
      expect(await other.read(1, 10)).toEqual([winner]);
      expect([await writer.head(), await other.head()]).toEqual([1, 1]);
      // The loser reads what won and appends after it.
      const loser = winner === mine ? other : writer;
      await loser.append([record(2)]);
      expect(await writer.read(1, 10)).toEqual([winner, record(2)]);
      await other.close();
      await writer.close();
    });

    it('refuses appends and snapshots with LOG_READ_ONLY when opened read-only, and still reads', async (context) => {
      const log = await harness.fresh();
      if (harness.readOnly === undefined) {
        await log.close();
        context.skip('this store has no read-only mode');
        return;
      }
      await log.open();
      await log.append(records(1, 3));
      await log.close();
      const reader = await harness.readOnly();
      expect((await reader.open()).head).toBe(3);
      const error = await expectCodeOf(() => reader.append([record(4)]), 'LOG_READ_ONLY');
      expect(error.store).toBe(reader.name);
      if (reader.writeSnapshot !== undefined) {
        const snapshot = { format: 1 as const, position: 3, entities: [], requests: [] };
        await expectCodeOf(() => reader.writeSnapshot!(snapshot), 'LOG_READ_ONLY');
      }
      expect(await reader.read(1, 10)).toEqual(records(1, 3));
      await reader.close();
      const again = await harness.reopen();
      expect(await again.open()).toEqual({ head: 3, snapshot: undefined });
      await again.close();
    });

    it('refuses a read below the first record it still holds with HISTORY_UNAVAILABLE', async (context) => {
      if (harness.pruning === undefined) {
        context.skip('this store never prunes history');
        return;
      }
      const log = await harness.pruning();
      await log.open();
      for (let position = 1; position <= 400; position += 10) await log.append(records(position, 10));
      await log.writeSnapshot!({ format: 1, position: 300, entities: [], requests: [] });
      const error = await expectCodeOf(() => log.read(1, 10), 'HISTORY_UNAVAILABLE');
      expect(error.requested).toBe(1);
      expect(error.firstAvailable).toBeGreaterThan(1);
      expect(error.firstAvailable).toBeLessThanOrEqual(301);
      await expectCodeOf(() => log.read(error.firstAvailable - 1, 10), 'HISTORY_UNAVAILABLE');
      expect(await log.read(error.firstAvailable, 10)).toEqual(records(error.firstAvailable, 10));
      expect(await log.read(301, 200)).toEqual(records(301, 100));
      await log.close();
    });

    it('keeps acknowledged records across close and reopen', async () => {
      const log = await harness.fresh();
      await log.open();
      await log.append(records(1, 5));
      await log.close();
      await log.close(); // idempotent
      const again = await harness.reopen();
      expect((await again.open()).head).toBe(5);
      expect(await again.read(1, 10)).toEqual(records(1, 5));
      await again.append([record(6)]);
      expect(await again.read(6, 1)).toEqual([record(6)]);
      await again.close();
    });

    it('stores a large record intact', async () => {
      const log = await harness.fresh();
      await log.open();
      const blob = 'x'.repeat(1 << 20);
      const big = record(1, { changes: [{ op: 'create', kind: 'blob', id: 'b', version: 1, data: { blob } }] });
      await log.append([big]);
      const [back] = await log.read(1, 1);
      expect(back).toEqual(big);
      await log.close();
    });

    it('wakes a watcher of a store opened over it when a transaction commits', async () => {
      const store = await openStore({ entities: [Counter], log: await harness.fresh() });
      const watcher = store.watch({ from: 1 });
      const first = watcher.next();
      const { position } = await store.transact((tx) => tx.create(Counter, { value: 1 }));
      expect(((await first).value as LogRecord).position).toBe(position);
      const second = watcher.next();
      await store.transact((tx) => tx.create(Counter, { value: 2 }));
      expect(((await second).value as LogRecord).position).toBe(position + 1);
      await store.close();
      expect(await watcher.next()).toEqual({ value: undefined, done: true });
    });

    it('tells subscribers about appends by another writer, when it allows several', async (context) => {
      const writer = await harness.fresh();
      if (!writer.multiWriter) {
        await writer.close();
        context.skip('single-writer store');
        return;
      }
      await writer.open();
      const reader = await harness.reopen();
      await reader.open();
      const heads: number[] = [];
      const woken = new Promise<void>((resolve) => {
        reader.subscribe((head) => {
          heads.push(head);
          if (head >= 2) resolve();
        });
      });
      await writer.append(records(1, 2));
      await woken;
      expect(Math.max(...heads)).toBe(2);
      expect(await reader.head()).toBe(2);
      expect(await reader.read(1, 5)).toEqual(records(1, 2));
      await reader.close();
      await writer.close();
    });

    it('returns the newest snapshot on open, when the store keeps snapshots', async (context) => {
      const log = await harness.fresh();
      if (log.writeSnapshot === undefined) {
        await log.close();
        context.skip('this store keeps no snapshots');
        return;
      }
      await log.open();
      await log.append(records(1, 4));
      await log.writeSnapshot({ format: 1, position: 2, entities: [['counter', 'c-1', 1, { n: 1 }]], requests: [] });
      const newest = {
        format: 1 as const,
        position: 4,
        entities: [['counter', 'c-4', 2, { n: 4 }] as const],
        requests: [['r1', 3, 'tx-3', { ok: true }] as const],
      };
      await log.writeSnapshot(newest);
      await log.close();
      const again = await harness.reopen();
      const opened = await again.open();
      expect(opened.head).toBe(4);
      expect(opened.snapshot).toEqual(newest);
      await again.close();
    });

    it('refuses a snapshot beyond the head with INTERNAL and keeps the one before', async (context) => {
      const log = await harness.fresh();
      if (log.writeSnapshot === undefined) {
        await log.close();
        context.skip('this store keeps no snapshots');
        return;
      }
      await log.open();
      await log.append(records(1, 2));
      const kept = { format: 1 as const, position: 2, entities: [['counter', 'c-1', 1, { n: 1 }] as const], requests: [] };
      await log.writeSnapshot(kept);
      const error = await expectCodeOf(() => log.writeSnapshot!({ format: 1, position: 3, entities: [], requests: [] }), 'INTERNAL');
      expect(error.message).toContain('beyond the head');
      await log.close();
      const again = await harness.reopen();
      expect(await again.open()).toEqual({ head: 2, snapshot: kept });
      await again.close();
    });
  });
}
