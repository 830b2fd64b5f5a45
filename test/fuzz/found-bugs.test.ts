import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineEntity, memoryLog, openStore, type LogRecord } from '@ordo/core';
import { fileLog } from '@ordo/adapters/file';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isJsonStable, outcomeOf } from './outcome.js';

/**
 * Bugs the fuzz suites found, each reduced to one deterministic case. A test fails while its
 * bug is present and passes once it is fixed; fixed ones stay as regression tests.
 * - immer-error-untyped, string-of-null-prototype, meta-not-json, data-not-normalized: fixed
 *   in 7cca876.
 * - segment-cut-below-snapshot: fixed in aab5f71.
 * - zeroed-range-into-tail: fixed by counting a damaged header of a later write as evidence
 *   (segment-scanner.ts findLaterWrite).
 */
const Disk = defineEntity('disk', z.object({ label: z.string(), sizeGiB: z.number(), flags: z.array(z.string()).optional() }));

async function diskStore() {
  const store = await openStore({ entities: [Disk], log: memoryLog() });
  const { value } = await store.transact((tx) => tx.create(Disk, { label: 'a', sizeGiB: 1, flags: ['x'] }));
  return { store, id: value.id };
}

describe('bugs found by fuzzing (regression tests)', () => {
  it('immer-error-untyped: a recipe that modifies its draft and returns a value gets a typed error', async () => {
    const { store, id } = await diskStore();
    const outcome = await outcomeOf(() =>
      store.transact((tx) =>
        tx.update(Disk, id, (draft) => {
          draft.sizeGiB = 2;
          return { label: 'b', sizeGiB: 3 };
        }),
      ),
    );
    // Before 7cca876: a plain Error "[Immer] An immer producer returned a new value *and* modified its draft".
    expect(outcome.kind).toBe('ordo');
    expect(store.position).toBe(1);
  });

  it('immer-error-untyped: a recipe that sets __proto__ gets a typed error', async () => {
    const { store, id } = await diskStore();
    const outcome = await outcomeOf(() => store.transact((tx) => tx.update(Disk, id, (draft) => void ((draft as Record<string, unknown>)['__proto__'] = {}))));
    // Before 7cca876: a plain Error "[Immer] Object.setPrototypeOf() cannot be used on an Immer draft".
    expect(outcome.kind).toBe('ordo');
  });

  it('string-of-null-prototype: retries set to a null-prototype object gives INVALID_ARGUMENT', async () => {
    const { store } = await diskStore();
    const outcome = await outcomeOf(() => store.transact(() => 1, { retries: Object.create(null) as number }));
    // Before 7cca876: TypeError "Cannot convert object to primitive value" from String(retries) in checkRetries.
    expect(outcome).toEqual({ kind: 'ordo', code: 'INVALID_ARGUMENT' });
  });

  it('meta-not-json: meta that JSON cannot hold is refused (or normalized), never logged as it is', async () => {
    const { store, id } = await diskStore();
    const meta = { map: new Map([['k', 1]]), holes: Object.assign(new Array<number>(2), { 1: 1 }), big: -0 } as never;
    const outcome = await outcomeOf(() => store.transact((tx) => tx.update(Disk, id, { sizeGiB: 5 }), { meta }));
    const [record] = await store.read({ from: 2, limit: 1 });
    // Before 7cca876: accepted, and the record's meta held a Map and a hole; a file or PostgreSQL
    // store persists {} and null instead, so the acknowledged record and the stored one differed.
    if (outcome.kind === 'ordo') expect(outcome.code).toBe('INVALID_ARGUMENT');
    else expect(record !== undefined && isJsonStable(record)).toBe(true);
  });

  it('data-not-normalized: an entity read after a restart equals the one acknowledged (-0, undefined keys)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ordo-known-bug-'));
    try {
      const first = await openStore({ entities: [Disk], log: fileLog({ dir }) });
      const { value } = await first.transact((tx) => tx.create(Disk, { label: 'z', sizeGiB: -0, flags: undefined }));
      const live = first.get(Disk, value.id)!;
      await first.close();
      const second = await openStore({ entities: [Disk], log: fileLog({ dir }) });
      const restored = second.get(Disk, value.id)!;
      await second.close();
      // Before 7cca876: live data was { sizeGiB: -0, flags: undefined }; after a restart sizeGiB
      // was 0 and flags absent. Folding the log must give the state that was maintained (I3).
      expect(Object.is(restored.data.sizeGiB, live.data.sizeGiB)).toBe(true);
      expect(Object.keys(restored.data).sort()).toEqual(Object.keys(live.data).sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('segment-cut-below-snapshot: a file log cut below its snapshot is refused, or its state stays the fold of its log', async () => {
    const Item = defineEntity('item', z.object({ n: z.number() }));
    const dir = mkdtempSync(join(tmpdir(), 'ordo-known-bug-'));
    try {
      const first = await openStore({ entities: [Item], log: fileLog({ dir }) });
      for (let n = 1; n <= 30; n += 1) {
        await first.transact((tx) => tx.create(Item, { n }));
        if (n === 20) await first.snapshot();
      }
      await first.close();
      // The disk loses the segment's tail: 8 records remain, the snapshot at 20 stays.
      const segment = readdirSync(dir).find((name) => name.endsWith('.seg'))!;
      truncateSync(join(dir, segment), 1000);
      const refused = await openStore({ entities: [Item], log: fileLog({ dir }) }).then(
        async (second) => {
          // Before aab5f71 it opened at position 8 and new commits reused positions 9..28.
          for (let n = 100; n < 120; n += 1) await second.transact((tx) => tx.create(Item, { n }));
          await second.close();
          return false;
        },
        () => true,
      );
      if (refused) return;
      const third = await openStore({ entities: [Item], log: fileLog({ dir }) });
      const records: LogRecord[] = await third.read({ from: 1 });
      const state = JSON.stringify(third.dump());
      await third.close();
      const log = memoryLog();
      await log.append(records);
      const fold = await openStore({ entities: [Item], log });
      // Before aab5f71: the third open loaded the old snapshot at 20 (items 1..20) and folded records
      // 21..28 of the new history on top: items 9..20 came back, items 100..111 were missing.
      expect(state).toBe(JSON.stringify(fold.dump()));
      await fold.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('zeroed-range-into-tail: zeros over acknowledged records up into the last frame are refused, not cut', async () => {
    const Item = defineEntity('item', z.object({ name: z.string(), n: z.number() }));
    const dir = mkdtempSync(join(tmpdir(), 'ordo-known-bug-'));
    const segmentPath = (): string => join(dir, readdirSync(dir).find((name) => name.endsWith('.seg'))!);
    // The end of the records' bytes (segments are preallocated with zeros after them).
    const dataEnd = (): number => {
      const bytes = readFileSync(segmentPath());
      let end = bytes.length;
      while (end > 0 && bytes[end - 1] === 0) end -= 1;
      return end;
    };
    try {
      const store = await openStore({ entities: [Item], log: fileLog({ dir }) });
      const ends: number[] = [];
      for (let n = 1; n <= 30; n += 1) {
        await store.transact((tx) => tx.create(Item, { name: `item ${n}`, n }));
        ends.push(dataEnd());
      }
      await store.close();
      // Zero the frames of records 21..29 and the first byte of record 30's frame; the rest of
      // record 30 stays. Every one of those records was acknowledged (fsynced one by one).
      const bytes = readFileSync(segmentPath());
      bytes.fill(0, Number(ends[19]), Number(ends[28]) + 1);
      writeFileSync(segmentPath(), bytes);
      const outcome = await outcomeOf(async () => {
        const again = await openStore({ entities: [Item], log: fileLog({ dir }) });
        const position = again.position;
        await again.close();
        return position;
      });
      // Today: it opens at position 20; records 21..30 are cut as if they were a torn tail.
      const result = outcome.kind === 'ordo' ? outcome.code : outcome.kind === 'ok' ? outcome.value : 'untyped error';
      expect(['LOG_CORRUPT', 30]).toContain(result);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
