import { getInMemoryEventStore } from '@event-driven-io/emmett';
import { z } from 'zod';
import { defineEntity, memoryLog, openStore, type Store } from '@ordo/core';
import { closedLoop, type BenchContext, type BenchSuite } from '../harness.js';

// The issue 2 benchmarks: Ordo on the memory log store against Emmett's in-memory event store.
const Item = defineEntity('item', z.object({ name: z.string(), value: z.number().int() }));
const itemsForUpdates = 10_000;
const preloadEntities = 1_000_000;
const preloadBatch = 10_000;

async function seeded(count: number): Promise<{ store: Store; ids: string[] }> {
  const store = await openStore({ entities: [Item], log: memoryLog() });
  const ids: string[] = [];
  for (let done = 0; done < count; done += preloadBatch) {
    const { value } = await store.transact((tx) =>
      Array.from({ length: Math.min(preloadBatch, count - done) }, (_, index) => tx.create(Item, { name: `seed-${done + index}`, value: 0 }).id),
    );
    ids.push(...value);
  }
  return { store, ids };
}

function randomOf(ids: readonly string[]): string {
  return ids[Math.floor(Math.random() * ids.length)] as string;
}

type Workload = (store: Store, ids: readonly string[]) => Promise<unknown>;

let created = 0;
const workloads: Record<string, Workload> = {
  create: (store) => store.transact((tx) => tx.create(Item, { name: `n${created++}`, value: 1 })),
  update: (store, ids) =>
    store.transact((tx) => tx.update(Item, randomOf(ids), (draft) => void (draft.value += 1)), { retries: 100 }),
  multi: (store, ids) =>
    store.transact(
      (tx) => {
        const source = tx.require(Item, randomOf(ids));
        for (let write = 0; write < 3; write += 1) tx.update(Item, randomOf(ids), { value: source.data.value + write });
      },
      { retries: 100 },
    ),
};

/** Each workload runs on a fresh store of 10,000 items, so that one run's garbage does not slow the next. */
async function ordoWorkloads(context: BenchContext, concurrency: number): Promise<void> {
  for (const [workload, operation] of Object.entries(workloads)) {
    const { store, ids } = await seeded(itemsForUpdates);
    heapUsed();
    context.report(
      await closedLoop({
        system: 'ordo-memory',
        workload,
        concurrency,
        durationMs: 3000 * context.scale,
        operation: () => operation(store, ids),
      }),
    );
    await store.close();
  }
}

async function emmettCreate(context: BenchContext, concurrency: number): Promise<void> {
  const eventStore = getInMemoryEventStore();
  let counter = 0;
  context.report(
    await closedLoop({
      system: 'emmett-memory',
      workload: 'create',
      concurrency,
      durationMs: 3000 * context.scale,
      operation: () => {
        const index = counter++;
        return eventStore.appendToStream(`item-${index}`, [{ type: 'ItemCreated', data: { name: `n${index}`, value: 1 } }]);
      },
    }),
  );
}

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

async function createAtOneMillion(context: BenchContext): Promise<void> {
  const before = heapUsed();
  context.log(`  preloading ${preloadEntities.toLocaleString('en-US')} entities...`);
  const { store, ids } = await seeded(preloadEntities);
  ids.length = 0;
  const bytesPerEntity = Math.round((heapUsed() - before) / preloadEntities);
  let counter = 0;
  context.report(
    await closedLoop({
      system: 'ordo-memory',
      workload: 'create-1m',
      concurrency: 64,
      durationMs: 3000 * context.scale,
      operation: () => store.transact((tx) => tx.create(Item, { name: `n${counter++}`, value: 1 })),
      extra: { heapBytesPerEntity: bytesPerEntity, gc: typeof (globalThis as { gc?: unknown }).gc === 'function' ? 'on' : 'off' },
    }),
  );
  await store.close();
}

const suite: BenchSuite = {
  name: 'memory',
  async run(context) {
    for (const concurrency of [1, 64]) {
      await ordoWorkloads(context, concurrency);
      await emmettCreate(context, concurrency);
    }
    await createAtOneMillion(context);
  },
};

export default suite;
