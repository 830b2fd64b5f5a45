import pg from 'pg';
import { z } from 'zod';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { defineEntity, openStore, type Store } from '@ordo/core';
import { postgresLog } from '@ordo/adapters/postgres';
import { closedLoop, type BenchContext, type BenchResult, type BenchSuite } from '../harness.js';

// The issue 4 benchmarks: Ordo on the PostgreSQL log store, the one-row-insert limit of the same
// server, and Emmett's PostgreSQL event store appending the same created-events.
const pgUrl = process.env.ORDO_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const Vm = defineEntity('vm', z.object({ name: z.string(), memoryMiB: z.number().int() }));
const itemsForUpdates = 10_000;
const seedBatch = 1_000;
const concurrencies = [1, 64] as const;

async function withSchema(prefix: string, run: (schema: string) => Promise<void>): Promise<void> {
  const schema = `bench_${prefix}_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE SCHEMA "${schema}"`);
    await run(schema);
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
}

async function seeded(store: Store): Promise<string[]> {
  const ids: string[] = [];
  for (let done = 0; done < itemsForUpdates; done += seedBatch) {
    const { value } = await store.transact((tx) =>
      Array.from({ length: seedBatch }, (_, index) => tx.create(Vm, { name: `seed-${done + index}`, memoryMiB: 1024 }).id),
    );
    ids.push(...value);
  }
  return ids;
}

async function ordoWorkloads(context: BenchContext): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  await withSchema('ordo', async (schema) => {
    const store = await openStore({ entities: [Vm], log: postgresLog({ connectionString: pgUrl, schema }) });
    const ids = await seeded(store);
    let counter = 0;
    for (const concurrency of concurrencies) {
      results.push(
        await closedLoop({
          system: 'ordo-postgres',
          workload: 'create',
          concurrency,
          durationMs: 3000 * context.scale,
          operation: () => store.transact((tx) => tx.create(Vm, { name: `vm-${counter++}`, memoryMiB: 1024 })),
        }),
      );
      results.push(
        await closedLoop({
          system: 'ordo-postgres',
          workload: 'update',
          concurrency,
          durationMs: 3000 * context.scale,
          operation: () =>
            store.transact((tx) => tx.update(Vm, ids[Math.floor(Math.random() * ids.length)]!, (draft) => void (draft.memoryMiB += 1)), {
              retries: 100,
            }),
        }),
      );
    }
    await store.close();
  });
  return results;
}

/** One client, one autocommit one-row INSERT per transaction: what one caller can do at most. */
async function rawInsert(context: BenchContext): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  await withSchema('raw', async (schema) => {
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    await client.query(`CREATE TABLE "${schema}".rows (id bigserial PRIMARY KEY, body json NOT NULL)`);
    let counter = 0;
    results.push(
      await closedLoop({
        system: 'raw-pg-insert',
        workload: 'create',
        concurrency: 1,
        durationMs: 3000 * context.scale,
        operation: () =>
          client.query({
            name: 'raw_insert',
            text: `INSERT INTO "${schema}".rows (body) VALUES ($1::json)`,
            values: [JSON.stringify({ kind: 'vm', id: `vm-${counter}`, data: { name: `vm-${counter++}`, memoryMiB: 1024 } })],
          }),
      }),
    );
    await client.end();
  });
  return results;
}

async function emmettWorkloads(context: BenchContext): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  await withSchema('emmett', async (schema) => {
    // Emmett names its tables without a schema: the search path puts them in the fresh one.
    const url = new URL(pgUrl);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const eventStore = getPostgreSQLEventStore(url.toString());
    let counter = 0;
    for (const concurrency of concurrencies) {
      results.push(
        await closedLoop({
          system: 'emmett-postgresql',
          workload: 'create',
          concurrency,
          durationMs: 3000 * context.scale,
          operation: () => {
            const id = `vm-${counter++}`;
            return eventStore.appendToStream(`vm-${id}`, [{ type: 'VmCreated', data: { id, name: id, memoryMiB: 1024 } }]);
          },
        }),
      );
    }
    await eventStore.close();
  });
  return results;
}

/** The figures the targets are about, next to the Ordo rows: share of raw inserts, multiple of Emmett. */
function withRatios(ordo: readonly BenchResult[], raw: readonly BenchResult[], emmett: readonly BenchResult[]): BenchResult[] {
  const rawOne = raw.find((result) => result.concurrency === 1)?.opsPerSec ?? 0;
  return ordo.map((result) => {
    const emmettSame = emmett.find((other) => other.concurrency === result.concurrency)?.opsPerSec ?? 0;
    const extra: Record<string, string> = {};
    if (result.concurrency === 1 && rawOne > 0) extra.ofRawInsert = `${Math.round((100 * result.opsPerSec) / rawOne)}%`;
    // Emmett appends the same created-events, so only the create rows compare with it.
    if (emmettSame > 0 && result.workload === 'create') extra.xEmmett = (result.opsPerSec / emmettSame).toFixed(1);
    return { ...result, extra };
  });
}

const suite: BenchSuite = {
  name: 'postgres',
  async run(context) {
    context.log('  raw-pg-insert...');
    const raw = await rawInsert(context);
    context.log('  ordo-postgres...');
    const ordo = await ordoWorkloads(context);
    context.log('  emmett-postgresql...');
    const emmett = await emmettWorkloads(context);
    for (const result of [...raw, ...withRatios(ordo, raw, emmett), ...emmett]) context.report(result);
  },
};

export default suite;
