import fc from 'fast-check';
import { defineEntity, memoryLog, openStore, type Store } from '@ordo/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeValue, expectLogGrewBy, expectStableCode, fuzzParameters, logOf, outcomeOf } from './outcome.js';

/**
 * Property-based odd updates and transact calls: recipes that return values, throw, return
 * non-objects or set id/version; partial objects with odd keys; odd options and odd return
 * values. Success, a typed OrdoError, or the caller's own thrown value; the log only grows
 * by what succeeded.
 */
const Disk = defineEntity('disk', z.object({ label: z.string(), sizeGiB: z.number().nonnegative(), flags: z.array(z.string()).optional() }), {
  unique: ['label'],
});

const runs = fuzzParameters(150);
let store: Store;
let diskId = '';

beforeAll(async () => {
  store = await openStore({ entities: [Disk], log: memoryLog() });
  diskId = (await store.transact((tx) => tx.create(Disk, { label: 'root', sizeGiB: 10 }))).value.id;
});

afterAll(async () => {
  await store.close();
});

const wild = fc.anything({ withBigInt: true, withDate: true, withMap: true, withSparseArray: true, withNullPrototype: true, withBoxedValues: true, maxDepth: 2 });
const key = fc.constantFrom('label', 'sizeGiB', 'flags', 'id', 'version', 'kind', '__proto__', 'constructor', 'extra');
const value = fc.oneof(wild, fc.string(), fc.double(), fc.integer(), fc.constantFrom(NaN, -0, Infinity, undefined, null));

/** Marks an error thrown by the caller's own code, to tell it from the store's errors. */
class CallerError extends Error {}

type Draft = Record<string, unknown>;
type RecipeCase = { readonly name: string; readonly recipe: (draft: Draft) => unknown; readonly throws?: { readonly value: unknown } };

const recipe: fc.Arbitrary<RecipeCase> = fc.oneof(
  fc.tuple(key, value).map(([field, next]) => ({ name: `set ${field}`, recipe: (draft: Draft) => void (draft[field] = next) })),
  key.map((field) => ({ name: `delete ${field}`, recipe: (draft: Draft) => void delete draft[field] })),
  value.map((next) => ({ name: 'return a value', recipe: () => next })),
  fc.record({ label: fc.string(), sizeGiB: fc.double() }).map((next) => ({ name: 'return a new object', recipe: () => next })),
  fc.tuple(key, value).map(([field, next]) => ({
    name: `set ${field} and return a value`,
    recipe: (draft: Draft) => {
      draft[field] = next;
      return { label: 'x', sizeGiB: 1 };
    },
  })),
  fc.constant({ name: 'async recipe', recipe: async (draft: Draft) => void (draft.sizeGiB = 3) }),
  fc.string().map((message) => {
    const thrown = new CallerError(message);
    return { name: 'throw', throws: { value: thrown }, recipe: () => { throw thrown; } };
  }),
  value.map((thrown) => ({ name: 'throw a non-error', throws: { value: thrown }, recipe: () => { throw thrown; } })),
);

const updateCodes = new Set(['VALIDATION_FAILED', 'UNIQUE_VIOLATION', 'INVALID_ARGUMENT', 'VERSION_MISMATCH']);

describe('odd updates', () => {
  it('recipes: success, a typed error, or the recipe\'s own error; the log grows only on success', async () => {
    const seen = { ok: 0, refused: 0, callers: 0 };
    await fc.assert(
      fc.asyncProperty(recipe, async ({ name, recipe: body, throws }) => {
        const before = await logOf(store);
        const outcome = await outcomeOf(() => store.transact((tx) => tx.update(Disk, diskId, body as never)));
        const after = await logOf(store);
        expectStableCode(outcome);
        if (outcome.kind === 'thrown') {
          // Only the caller's own error may come through untyped, and unchanged.
          expect(throws !== undefined && Object.is(outcome.error, throws.value), `${name}: threw ${describeValue(outcome.error)}`).toBe(true);
          seen.callers += 1;
        } else if (outcome.kind === 'ordo') {
          expect(updateCodes, name).toContain(outcome.code);
          seen.refused += 1;
        } else {
          seen.ok += 1;
        }
        expectLogGrewBy(before, after, outcome.kind === 'ok' ? 1 : 0);
        expect(() => Disk.parse(store.get(Disk, diskId)!.data)).not.toThrow();
      }),
      runs,
    );
    expect(Math.min(seen.ok, seen.refused, seen.callers)).toBeGreaterThan(3);
  });

  it('partial objects with odd keys and values', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.dictionary(key, value), wild), fc.option(fc.oneof(fc.integer(), wild), { nil: undefined }), async (patch, expectedVersion) => {
        const before = await logOf(store);
        const options = expectedVersion === undefined ? {} : { expectedVersion: expectedVersion as number };
        const outcome = await outcomeOf(() => store.transact((tx) => tx.update(Disk, diskId, patch as never, options)));
        const after = await logOf(store);
        expect(outcome.kind, `update(${describeValue(patch)}) threw ${describeValue((outcome as { error?: unknown }).error)}`).not.toBe('thrown');
        expectStableCode(outcome);
        if (outcome.kind === 'ordo') expect(updateCodes).toContain(outcome.code);
        expectLogGrewBy(before, after, outcome.kind === 'ok' ? 1 : 0);
      }),
      runs,
    );
  });
});

describe('odd transact calls', () => {
  const options = fc.record(
    { retries: fc.oneof(fc.integer({ min: -5, max: 50 }), wild), requestId: fc.oneof(fc.string({ maxLength: 300 }), wild), operation: fc.oneof(fc.string(), wild), meta: fc.oneof(fc.jsonValue(), wild) },
    { requiredKeys: [] },
  );

  it('odd options and return values: success or a typed error; a stored result survives JSON', async () => {
    const seen = { ok: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(options, value, fc.boolean(), async (transactOptions, returned, write) => {
        const before = await logOf(store);
        const outcome = await outcomeOf(() =>
          store.transact(
            (tx) => {
              if (write) tx.update(Disk, diskId, (draft) => void (draft.sizeGiB += 1));
              return returned;
            },
            transactOptions as never,
          ),
        );
        const after = await logOf(store);
        expect(outcome.kind, `transact(${describeValue(transactOptions)}) threw ${describeValue((outcome as { error?: unknown }).error)}`).not.toBe('thrown');
        expectStableCode(outcome);
        if (outcome.kind === 'ordo') seen.refused += 1;
        else seen.ok += 1;
        // A replayed requestId writes nothing; a fresh one or a write adds one record at most.
        expect(after.length - before.length).toBeLessThanOrEqual(1);
        expectLogGrewBy(before, after, after.length - before.length);
        if (outcome.kind === 'ordo') expect(after.length).toBe(before.length);
      }),
      runs,
    );
    expect(Math.min(seen.ok, seen.refused)).toBeGreaterThan(3);
  });

  it('a function that is not a function, or that throws anything, changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(value, fc.boolean(), async (thrown, callable) => {
        const before = await logOf(store);
        const outcome = await outcomeOf(() =>
          callable
            ? store.transact((tx) => {
                tx.update(Disk, diskId, { sizeGiB: 99 });
                throw thrown;
              })
            : store.transact(thrown as never),
        );
        const after = await logOf(store);
        expectLogGrewBy(before, after, 0);
        if (callable) expect(outcome).toEqual({ kind: 'thrown', error: thrown });
        else expect(outcome).toEqual({ kind: 'ordo', code: 'INVALID_ARGUMENT' });
      }),
      runs,
    );
  });
});
