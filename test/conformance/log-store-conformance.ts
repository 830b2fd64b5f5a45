import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineEntity, isOrdoError, openStore, type LogRecord, type LogStore, type OrdoErrorCode } from '@ordo/core';

const Counter = defineEntity('counter', z.object({ value: z.number() }));

/**
 * One suite for every log store. A harness opens a fresh, empty log and can reopen the same
 * log (as a restart would). Stores that keep no snapshots skip the snapshot cases.
 */
export interface LogStoreHarness {
  /** Returns a new store over a new, empty log. */
  fresh(): Promise<LogStore>;
  /** Returns a new store instance over the log that the last `fresh()` created. */
  reopen(): Promise<LogStore>;
}

export function record(position: number, extra: Partial<LogRecord> = {}): LogRecord {
  return {
    position,
    txId: `tx-${position}`,
    time: 1_700_000_000_000 + position,
    changes: [{ op: 'create', kind: 'counter', id: `c-${position}`, version: 1, data: { n: position } }],
    ...extra,
  };
}

export function records(from: number, count: number): LogRecord[] {
  return Array.from({ length: count }, (_, index) => record(from + index));
}

async function expectCode(promise: Promise<unknown>, code: OrdoErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isOrdoError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
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

    it('rejects a batch whose positions are not consecutive and writes nothing of it', async () => {
      const log = await harness.fresh();
      await log.open();
      await expect(log.append([record(1), record(3)])).rejects.toThrow();
      expect(await log.head()).toBe(0);
      expect(await log.read(1, 10)).toEqual([]);
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
  });
}
