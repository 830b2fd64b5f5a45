import pg from 'pg';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { openStore, type Store } from '@ordo/core';
import { postgresLog } from '@ordo/adapters/postgres';
import { createItem, Item, itemsForUpdates, seedItems, updateRandomItem } from '../workloads.js';
import { closedLoop, type BenchContext, type BenchResult, type BenchSuite } from '../harness.js';

// The issue 4 benchmarks: Ordo on the PostgreSQL log store, the one-row-insert limit of the same
// server, and Emmett's PostgreSQL event store appending the same created-events.
//
// The machines these run on are shared, and the server's fsync rate drifts with whatever else
// runs. So the systems that are compared run in turns: six slices each, one after the other
// (raw, ordo, emmett, raw, ordo, ...). A drift then hits every system alike, and the ratios in
// the last column stay meaningful. A row shows the mean throughput of its slices, the median of
// their p50s and the largest of their p99s.
const pgUrl = process.env.ORDO_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const slices = 6;
const durationMs = 3_000;

interface Workload {
  readonly system: string;
  readonly workload: string;
  readonly concurrency: number;
  readonly operation: () => Promise<unknown>;
}

interface Systems {
  readonly raw: (concurrency: number) => Workload[];
  readonly ordo: (concurrency: number) => Workload[];
  readonly emmett: (concurrency: number) => Workload[];
}

async function withSchemas(run: (schemas: { raw: string; ordo: string; emmett: string }) => Promise<void>): Promise<void> {
  const stamp = `${process.pid}_${Date.now()}`;
  const schemas = { raw: `bench_raw_${stamp}`, ordo: `bench_ordo_${stamp}`, emmett: `bench_emmett_${stamp}` };
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  try {
    for (const schema of Object.values(schemas)) await admin.query(`CREATE SCHEMA "${schema}"`);
    await run(schemas);
  } finally {
    for (const schema of Object.values(schemas)) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
}

function ordoWorkloads(store: Store, ids: readonly string[]): (concurrency: number) => Workload[] {
  return (concurrency) => [
    {
      system: 'ordo-postgres',
      workload: 'create',
      concurrency,
      operation: () => createItem(store),
    },
    {
      system: 'ordo-postgres',
      workload: 'update',
      concurrency,
      operation: () => updateRandomItem(store, ids),
    },
  ];
}

/** One client, one autocommit one-row INSERT per transaction: what one caller can do at most. */
function rawWorkloads(client: pg.Client, schema: string): (concurrency: number) => Workload[] {
  let counter = 0;
  return (concurrency) =>
    concurrency !== 1
      ? []
      : [
          {
            system: 'raw-pg-insert',
            workload: 'create',
            concurrency,
            operation: () =>
              client.query({
                name: 'raw_insert',
                text: `INSERT INTO "${schema}".rows (body) VALUES ($1::json)`,
                values: [JSON.stringify({ kind: 'vm', id: `vm-${counter}`, data: { name: `vm-${counter++}`, memoryMiB: 1024 } })],
              }),
          },
        ];
}

function emmettWorkloads(eventStore: ReturnType<typeof getPostgreSQLEventStore>): (concurrency: number) => Workload[] {
  let counter = 0;
  return (concurrency) => [
    {
      system: 'emmett-postgresql',
      workload: 'create',
      concurrency,
      operation: () => {
        const id = `vm-${counter++}`;
        return eventStore.appendToStream(`vm-${id}`, [{ type: 'VmCreated', data: { id, name: id, memoryMiB: 1024 } }]);
      },
    },
  ];
}

/** Runs the workloads in turns, `slices` times each, and folds each one's slices into one row. */
async function inTurns(context: BenchContext, workloads: readonly Workload[]): Promise<BenchResult[]> {
  const runs = workloads.map((): BenchResult[] => []);
  for (let slice = 0; slice < slices; slice += 1) {
    for (const [index, workload] of workloads.entries()) {
      runs[index]!.push(await closedLoop({ ...workload, durationMs: (durationMs * context.scale) / slices }));
    }
  }
  return runs.map((results) => {
    const sorted = (pick: (result: BenchResult) => number): number[] => results.map(pick).sort((a, b) => a - b);
    return {
      ...results[0]!,
      opsPerSec: Math.round(results.reduce((sum, result) => sum + result.opsPerSec, 0) / results.length),
      p50Ms: sorted((result) => result.p50Ms)[Math.floor(results.length / 2)]!,
      p99Ms: sorted((result) => result.p99Ms).at(-1)!,
    };
  });
}

/** The figures the targets are about, next to the Ordo rows: share of raw inserts, multiple of Emmett. */
function withRatios(results: readonly BenchResult[]): BenchResult[] {
  const find = (system: string, concurrency: number): number =>
    results.find((result) => result.system === system && result.concurrency === concurrency && result.workload === 'create')?.opsPerSec ?? 0;
  return results.map((result) => {
    if (result.system !== 'ordo-postgres') return result;
    const extra: Record<string, string> = {};
    const raw = find('raw-pg-insert', result.concurrency);
    const emmett = find('emmett-postgresql', result.concurrency);
    if (raw > 0) extra.ofRawInsert = `${Math.round((100 * result.opsPerSec) / raw)}%`;
    // Emmett appends the same created-events, so only the create rows compare with it.
    if (emmett > 0 && result.workload === 'create') extra.xEmmett = (result.opsPerSec / emmett).toFixed(1);
    return { ...result, extra };
  });
}

async function run(context: BenchContext): Promise<void> {
  await withSchemas(async (schemas) => {
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    await client.query(`CREATE TABLE "${schemas.raw}".rows (id bigserial PRIMARY KEY, body json NOT NULL)`);
    const store = await openStore({ entities: [Item], log: postgresLog({ connectionString: pgUrl, schema: schemas.ordo }) });
    // Emmett names its tables without a schema: the search path puts them in the fresh one.
    const emmettUrl = new URL(pgUrl);
    emmettUrl.searchParams.set('options', `-c search_path=${schemas.emmett}`);
    const eventStore = getPostgreSQLEventStore(emmettUrl.toString());
    try {
      const systems: Systems = {
        raw: rawWorkloads(client, schemas.raw),
        ordo: ordoWorkloads(store, await seedItems(store, itemsForUpdates, 1_000)),
        emmett: emmettWorkloads(eventStore),
      };
      for (const concurrency of [1, 64]) {
        context.log(`  ${slices} turns of raw-pg-insert, ordo-postgres, emmett-postgresql at concurrency ${concurrency}...`);
        const results = await inTurns(context, [...systems.raw(concurrency), ...systems.ordo(concurrency), ...systems.emmett(concurrency)]);
        for (const result of withRatios(results)) context.report(result);
      }
    } finally {
      await eventStore.close();
      await store.close();
      await client.end();
    }
  });
}

const suite: BenchSuite = { name: 'postgres', run };

export default suite;
