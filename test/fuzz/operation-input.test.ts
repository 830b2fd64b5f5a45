import fc from 'fast-check';
import { createRuntime, defineEntity, defineOperation, memoryLog, OperationError, openStore, type OperationRuntime, type Store } from '@ordo/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeValue, expectLogGrewBy, expectStableCode, fuzzParameters, logOf, outcomeOf } from './outcome.js';

/**
 * Property-based operation inputs: random and malformed input and requestIds into
 * `runtime.run`. A run ends in success, a ValidationError, a specific OperationError or a
 * store error, all typed; a refused run writes nothing; an applied one leaves the adapter's
 * view equal to the store's.
 */
const Host = defineEntity('host', z.object({ name: z.string(), memoryMiB: z.number().int().nonnegative() }), { unique: ['name'] });
const Vm = defineEntity('vm', z.object({ name: z.string().min(1), hostId: z.string(), memoryMiB: z.number().int().positive() }), {
  unique: ['name'],
  index: ['hostId'],
});

const createVm = defineOperation({
  name: 'vm.create',
  input: z.object({ name: z.string().min(1).max(64), hostId: z.string(), memoryMiB: z.number().int().positive().max(1 << 20) }),
  plan(tx, input) {
    const host = tx.require(Host, input.hostId);
    const used = tx.find(Vm, { hostId: host.id }).reduce((sum, vm) => sum + vm.data.memoryMiB, 0);
    const free = host.data.memoryMiB - used;
    if (free < input.memoryMiB) {
      throw new OperationError({ code: 'INSUFFICIENT_HOST_MEMORY', message: `host has ${free} MiB free`, details: { free, requested: input.memoryMiB } });
    }
    return tx.create(Vm, input).id;
  },
});

/** A stateless adapter over a fake hypervisor: the set of running VM ids. */
const running = new Set<string>();
const hypervisor = {
  name: 'hypervisor',
  kinds: ['vm'],
  apply({ changes }: { changes: readonly { id: string; after?: unknown }[] }) {
    for (const change of changes) {
      if (change.after === undefined) running.delete(change.id);
      else running.add(change.id);
    }
  },
};

let store: Store;
let runtime: OperationRuntime;
let hostId = '';

beforeAll(async () => {
  store = await openStore({ entities: [Host, Vm], log: memoryLog() });
  hostId = (await store.transact((tx) => tx.create(Host, { name: 'h1', memoryMiB: 1 << 16 }))).value.id;
  runtime = await createRuntime({ store, adapters: [hypervisor] });
});

afterAll(async () => {
  await runtime.close();
  await store.close();
});

const wild = fc.anything({ withBigInt: true, withDate: true, withMap: true, withSparseArray: true, withNullPrototype: true, maxDepth: 2 });
const input = fc.oneof(
  fc.record({ name: fc.string({ minLength: 1, maxLength: 8 }), hostId: fc.constant('host'), memoryMiB: fc.integer({ min: 1, max: 4096 }) }),
  fc.record({ name: fc.oneof(fc.string(), wild), hostId: fc.oneof(fc.constant('host'), fc.string(), wild), memoryMiB: fc.oneof(fc.integer(), fc.double(), wild) }, { requiredKeys: [] }),
  wild,
);
const requestId = fc.option(fc.oneof(fc.string({ minLength: 1, maxLength: 4 }), fc.string({ maxLength: 300 }), wild), { nil: undefined });

describe('bad operation inputs', () => {
  it('success or a typed error; refused runs write nothing; the adapter agrees with the store', async () => {
    const seen = { ok: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(input, requestId, async (raw, request) => {
        const value = raw !== null && typeof raw === 'object' && (raw as { hostId?: unknown }).hostId === 'host' ? { ...raw, hostId } : raw;
        const before = await logOf(store);
        const options = request === undefined ? {} : { requestId: request as string };
        const outcome = await outcomeOf(() => runtime.run(createVm, value as never, options));
        const after = await logOf(store);
        expect(outcome.kind, `run(${describeValue(value)}, ${describeValue(options)}) threw ${describeValue((outcome as { error?: unknown }).error)}`).not.toBe('thrown');
        expectStableCode(outcome);
        if (outcome.kind === 'ordo') {
          seen.refused += 1;
          expectLogGrewBy(before, after, 0);
        } else {
          seen.ok += 1;
          // A new VM is one record (or more when the runtime records the outcome); a replay is none.
          expect(after.slice(0, before.length)).toEqual(before);
        }
        expect([...running].sort()).toEqual(store.list(Vm).map((vm) => vm.id));
      }),
      fuzzParameters(150),
    );
    expect(Math.min(seen.ok, seen.refused)).toBeGreaterThan(3);
  });
});
