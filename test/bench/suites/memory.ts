import { getInMemoryEventStore } from '@event-driven-io/emmett';
import { memoryLog, openStore, type Store } from '@ordo/core';
import { closedLoop, collectGarbage, type BenchContext, type BenchSuite } from '../harness.js';
import { createItem, Item, itemsForUpdates, readOneWriteThree, seedItems, updateRandomItem } from '../workloads.js';

// The issue 2 benchmarks: Ordo on the memory log store against Emmett's in-memory event store.
const preloadEntities = 1_000_000;

async function seeded(count: number): Promise<{ store: Store; ids: string[] }> {
  const store = await openStore({ entities: [Item], log: memoryLog() });
  return { store, ids: await seedItems(store, count) };
}

type Workload = (store: Store, ids: readonly string[]) => Promise<unknown>;

const workloads: Record<string, Workload> = {
  create: (store) => createItem(store),
  update: (store, ids) => updateRandomItem(store, ids),
  multi: (store, ids) => readOneWriteThree(store, ids),
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
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

async function createAtOneMillion(context: BenchContext): Promise<void> {
  const before = heapUsed();
  context.log(`  preloading ${preloadEntities.toLocaleString('en-US')} entities...`);
  const { store, ids } = await seeded(preloadEntities);
  ids.length = 0;
  const bytesPerEntity = Math.round((heapUsed() - before) / preloadEntities);
  context.report(
    await closedLoop({
      system: 'ordo-memory',
      workload: 'create-1m',
      concurrency: 64,
      durationMs: 3000 * context.scale,
      operation: () => createItem(store),
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
