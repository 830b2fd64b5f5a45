import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isOrdoError, memoryLog, type LogRecord } from '@ordo/core';
import { entities, Host, open, Vm } from '../test-support/model.js';
import { State } from './state.js';
import { dumpState } from './state-dump.js';

const types = new Map(entities.map((type) => [type.kind, type]));

/** Everything a fold decides: entities, indexes, requests, and the stamps read sets are validated against. */
function picture(state: State): unknown {
  const stamps = [...state.kinds].map(([kind, kindState]) => [
    kind,
    kindState.stamp,
    [...kindState.index].map(([field, buckets]) => [field, [...buckets].map(([value, bucket]) => [value, bucket.stamp])]),
  ]);
  return { dump: dumpState(state), stamps, requests: [...state.requests], position: state.position };
}

const step = fc.record({
  action: fc.constantFrom('create-host', 'create-vm', 'move-vm', 'rename-vm', 'delete-vm', 'swap-names', 'two-vms'),
  name: fc.integer({ min: 0, max: 6 }),
  host: fc.integer({ min: 0, max: 3 }),
  pick: fc.nat(),
  request: fc.boolean(),
});

type Step = typeof step extends fc.Arbitrary<infer Value> ? Value : never;

/** Runs random transactions on a store and returns the records they logged. */
async function loggedRecords(steps: readonly Step[]): Promise<LogRecord[]> {
  const log = memoryLog();
  const store = await open(log);
  for (const [index, { action, name, host, pick, request }] of steps.entries()) {
    const options = request ? { requestId: `req-${index}` } : {};
    await store
      .transact((tx) => {
        const vms = tx.list(Vm);
        const hosts = tx.list(Host);
        const vm = vms[pick % Math.max(vms.length, 1)];
        const hostId = hosts[host % Math.max(hosts.length, 1)]?.id;
        if (action === 'create-host') tx.create(Host, { name: `h${name}`, memoryMiB: 1024 });
        if (action === 'create-vm') tx.create(Vm, { name: `v${name}`, memoryMiB: 512, hostId });
        if (action === 'two-vms') {
          tx.create(Vm, { name: `v${name}`, memoryMiB: 512 });
          tx.create(Vm, { name: `w${name}`, memoryMiB: 512, hostId });
        }
        if (vm === undefined) return index;
        if (action === 'move-vm') tx.update(Vm, vm.id, (draft) => void (draft.hostId = hostId));
        if (action === 'rename-vm') tx.update(Vm, vm.id, (draft) => void (draft.name = `v${name}`));
        if (action === 'delete-vm') tx.delete(Vm, vm.id);
        const other = vms[(pick + 1) % vms.length];
        if (action === 'swap-names' && other !== undefined && other.id !== vm.id) {
          tx.update(Vm, vm.id, (draft) => void (draft.name = other.data.name));
          tx.update(Vm, other.id, (draft) => void (draft.name = vm.data.name));
        }
        return index;
      }, options)
      .catch((error: unknown) => {
        // Duplicate names are refused; nothing is logged for them.
        if (!isOrdoError(error, 'UNIQUE_VIOLATION')) throw error;
      });
  }
  const records = await log.read(1, 10_000);
  await store.close();
  return records;
}

describe('state: replay of logged records', () => {
  it('reaches exactly the state, indexes and stamps that fold reaches, record by record', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), async (steps) => {
        const records = await loggedRecords(steps);
        const folded = new State(types);
        const replayed = new State(types);
        for (const record of records) {
          folded.fold(structuredClone(record));
          replayed.replay(structuredClone(record));
          expect(picture(replayed)).toEqual(picture(folded));
        }
        // Replay freezes the entities it makes, like fold.
        for (const kindState of replayed.kinds.values()) for (const entity of kindState.entities.values()) expect(Object.isFrozen(entity.data)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('refuses the records fold refuses, whether they carry one change or several', () => {
    const create = (position: number, id: string, version = 1): LogRecord => ({
      position,
      txId: `t${position}`,
      time: 0,
      changes: [{ op: 'create', kind: 'counter', id, version, data: { value: 1 } }],
    });
    const update = (position: number, id: string, version: number): LogRecord => ({
      position,
      txId: `t${position}`,
      time: 0,
      changes: [{ op: 'update', kind: 'counter', id, version, data: { value: 2 } }],
    });
    const cases: [string, LogRecord[]][] = [
      ['a gap', [create(1, 'a'), create(3, 'b')]],
      ['a create of an existing id', [create(1, 'a'), create(2, 'a')]],
      ['an update that skips a version', [create(1, 'a'), update(2, 'a', 3)]],
      ['an update of a missing id', [update(1, 'a', 2)]],
      ['two changes, the second a duplicate create', [{ ...create(1, 'a'), changes: [...create(1, 'a').changes, ...create(1, 'a').changes] }]],
      ['two updates of one entity', [create(1, 'a'), { ...update(2, 'a', 2), changes: [...create(2, 'b').changes, ...update(2, 'a', 2).changes, ...update(2, 'a', 2).changes] }]],
      ['a duplicate as the last of twenty changes', [{ ...create(1, 'a'), changes: [...Array.from({ length: 19 }, (_, index) => create(1, `c${index}`).changes[0]!), create(1, 'c3').changes[0]!] }]],
    ];
    for (const [label, records] of cases) {
      for (const apply of ['fold', 'replay'] as const) {
        const state = new State(types);
        const run = (): void => records.forEach((record) => state[apply](record));
        expect(run, `${apply}: ${label}`).toThrow(expect.objectContaining({ code: 'INTERNAL' }) as Error);
      }
    }
  });
});

describe('state: index buckets under churn', () => {
  it('find answers what a scan of every entity answers, in id order, through many moves and deletes', async () => {
    // Explicit ids in shuffled order put buckets out of id order; moves and deletes leave
    // holes in them, past the count that compacts a bucket without a find.
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ vm: fc.nat(), host: fc.integer({ min: 0, max: 3 }), remove: fc.boolean() }), { minLength: 50, maxLength: 300 }), fc.nat(), async (steps, order) => {
        const store = await open();
        const hosts = ['h0', 'h1', 'h2', 'h3'];
        const ids = Array.from({ length: 120 }, (_, index) => `vm-${String((index * 37 + order) % 120).padStart(3, '0')}`);
        await store.transact((tx) => {
          for (const [index, id] of ids.entries()) tx.create(Vm, { name: id, memoryMiB: 1, hostId: hosts[index % hosts.length] }, { id });
        });
        const expectFindsAgree = (): void => {
          const all = store.list(Vm);
          for (const hostId of [...hosts, undefined]) {
            const scanned = all.filter((vm) => vm.data.hostId === hostId).map((vm) => vm.id);
            expect(store.find(Vm, { hostId }).map((vm) => vm.id)).toEqual([...scanned].sort());
          }
        };
        for (const [index, { vm, host, remove }] of steps.entries()) {
          const live = store.list(Vm);
          const target = live[vm % Math.max(live.length, 1)];
          if (target === undefined) break;
          await store.transact((tx) => {
            if (remove) tx.delete(Vm, target.id);
            else tx.update(Vm, target.id, (draft) => void (draft.hostId = host === 3 ? undefined : hosts[host]));
          });
          // A find only now and then, so that holes pile up between finds.
          if (index % 17 === 0) expectFindsAgree();
        }
        expectFindsAgree();
        await store.close();
      }),
      { numRuns: 25 },
    );
  });
});
