import fc from 'fast-check';
import { defineEntity, memoryLog, openStore, type Store } from '@ordo/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeValue, expectLogGrewBy, expectStableCode, fuzzParameters, logOf, outcomeOf } from './outcome.js';

/**
 * Property-based bad input: random and malformed data into entity schemas, odd update recipes
 * and odd transact arguments. Every case ends in success or a typed OrdoError with a stable
 * code (or, when the caller's own function throws, that very error); never a crash, a hang,
 * a changed log or a lost record.
 */
const Vm = defineEntity(
  'vm',
  z.object({ name: z.string().min(1), memoryMiB: z.number().int().positive(), hostId: z.string().optional(), tags: z.array(z.string()).optional() }),
  { unique: ['name'], index: ['hostId'] },
);

const runs = fuzzParameters(150);
let store: Store;

beforeAll(async () => {
  store = await openStore({ entities: [Vm], log: memoryLog() });
});

afterAll(async () => {
  await store.close();
});

/** Anything JavaScript can hold, including values JSON cannot (bigint, NaN, -0, sparse arrays, Maps, Dates). */
const wild = fc.anything({
  withBigInt: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  withSparseArray: true,
  withNullPrototype: true,
  withBoxedValues: true,
  withUnicodeString: true,
  maxDepth: 3,
});
const nastyKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'kind', 'version', 'toString', '', ' ', 'name.first');
const fieldValue = fc.oneof(wild, fc.string(), fc.integer(), fc.double(), fc.constantFrom(NaN, Infinity, -0, 1e308, 2 ** 53));
const validVm = fc.record(
  { name: fc.string({ minLength: 1, unit: 'grapheme' }), memoryMiB: fc.integer({ min: 1, max: 1 << 20 }), hostId: fc.string(), tags: fc.array(fc.string({ unit: 'binary' })) },
  { requiredKeys: ['name', 'memoryMiB'] },
);
/** A valid VM with one field replaced by something odd, or one odd key added. */
const nearlyValidVm = fc
  .tuple(validVm, fc.oneof(nastyKey, fc.constantFrom('name', 'memoryMiB', 'hostId', 'tags')), fieldValue)
  .map(([vm, key, value]) => Object.assign({ ...vm }, { [key]: value }) as unknown);
const vmLike = fc.oneof(
  validVm,
  nearlyValidVm,
  fc.record(
    { name: fc.oneof(fc.string({ minLength: 1 }), fieldValue), memoryMiB: fc.oneof(fc.integer({ min: 1, max: 1 << 20 }), fieldValue), hostId: fieldValue, tags: fc.oneof(fc.array(fc.string()), fieldValue) },
    { requiredKeys: [] },
  ),
  fc.dictionary(fc.oneof(nastyKey, fc.string()), fieldValue),
  wild,
);

const dataCodes = new Set(['VALIDATION_FAILED', 'UNIQUE_VIOLATION', 'INVALID_ARGUMENT']);

describe('bad input into entity schemas', () => {
  it('create: random data is either stored exactly as parsed, or refused with a typed error and nothing written', async () => {
    const seen = { ok: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(vmLike, async (data) => {
        const before = await logOf(store);
        const outcome = await outcomeOf(() => store.transact((tx) => tx.create(Vm, data as never)));
        const after = await logOf(store);
        expect(outcome.kind, `create(${describeValue(data)}) threw ${describeValue((outcome as { error?: unknown }).error)}`).not.toBe('thrown');
        expectStableCode(outcome);
        if (outcome.kind === 'ordo') {
          expect(dataCodes).toContain(outcome.code);
          expectLogGrewBy(before, after, 0);
          seen.refused += 1;
          return;
        }
        seen.ok += 1;
        expectLogGrewBy(before, after, 1);
        const change = after[after.length - 1]!.changes[0]!;
        expect(change.op).toBe('create');
        // What was logged passes the schema again (I6).
        if (change.op !== 'delete') expect(() => Vm.parse(change.data)).not.toThrow();
      }),
      runs,
    );
    // Both paths must have been taken, or the property tested only one of them.
    expect(seen.ok).toBeGreaterThan(5);
    expect(seen.refused).toBeGreaterThan(5);
  });

  it('find and get: odd arguments give typed errors', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(wild, fc.dictionary(fc.oneof(nastyKey, fc.string()), fieldValue)), wild, async (where, id) => {
        for (const call of [() => store.find(Vm, where as never), () => store.get(Vm, id as never), () => store.transact((tx) => tx.find(Vm, where as never))]) {
          const outcome = await outcomeOf(call);
          expect(outcome.kind, `threw ${describeValue((outcome as { error?: unknown }).error)}`).not.toBe('thrown');
          expectStableCode(outcome);
        }
      }),
      runs,
    );
  });
});
