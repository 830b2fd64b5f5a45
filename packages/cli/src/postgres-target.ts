import { inspectPostgresLog, postgresLog, readPostgresSnapshot, type PostgresPool } from '@ordo/adapters/postgres';
import { LogStoreError, type LogStore } from '@ordo/core';
import type PgModule from 'pg';
import { TargetNotEmptyError } from './cli-errors.js';
import { existingLog } from './existing-log.js';
import type { LogInspection, LogTarget, NewLog, SnapshotEntry } from './log-target.js';

/** A PostgreSQL log (`postgres://user@host:port/db?schema=NAME`); `pg` is loaded only here. */
export function postgresTarget(input: { connectionString: string; schema: string; shown: string }): LogTarget {
  let pool: Promise<PostgresPool> | undefined;
  const connect = (): Promise<PostgresPool> => (pool ??= makePool(input.connectionString));
  // The log store is created before the pool exists (openLog is synchronous): it borrows it on open.
  const lazyPool: PostgresPool = {
    connect: async () => (await connect()).connect(),
    query: async (query) => (await connect()).query(query),
    end: async () => undefined,
  };
  const { schema } = input;
  return {
    shown: input.shown,
    openLog: ({ writable }) =>
      writable
        ? postgresLog({ pool: lazyPool, schema })
        : existingLog(postgresLog({ pool: lazyPool, schema }), async () => {
            if (!(await inspectPostgresLog({ pool: lazyPool, schema })).exists) {
              throw new LogStoreError({ store: 'postgres', message: `${input.shown} holds no Ordo log (schema ${schema} has no records table)`, outcome: 'not-written' });
            }
          }),
    inspect: async () => describeLog(await inspectPostgresLog({ pool: lazyPool, schema }), schema),
    readSnapshot: async (entry: SnapshotEntry) => {
      const snapshot = await readPostgresSnapshot({ pool: lazyPool, schema, position: entry.position });
      if (snapshot === undefined) throw new LogStoreError({ store: 'postgres', message: `snapshot ${entry.position} of schema ${schema} vanished while it was read` });
      return snapshot;
    },
    createLog: async (): Promise<NewLog> => {
      const found = await inspectPostgresLog({ pool: lazyPool, schema });
      if (found.records > 0 || found.snapshots.length > 0) {
        throw new TargetNotEmptyError({ target: input.shown, holds: `${found.records} records, ${found.snapshots.length} snapshots` });
      }
      const log: LogStore = postgresLog({ pool: lazyPool, schema });
      // Rows become visible batch by batch: PostgreSQL has no rename that would publish a whole
      // log at once. A killed import leaves a prefix, which the next import refuses (not empty).
      return { log, readBack: () => postgresLog({ pool: lazyPool, schema }), publish: () => log.close(), discard: () => log.close() };
    },
    close: async () => {
      const made = pool;
      pool = undefined;
      if (made !== undefined) await (await made).end();
    },
  };
}

function describeLog(found: Awaited<ReturnType<typeof inspectPostgresLog>>, schema: string): LogInspection {
  return {
    firstPosition: found.records > 0 ? found.firstPosition : undefined,
    parts: found.exists ? [{ name: `"${schema}".records`, firstPosition: found.records > 0 ? found.firstPosition : undefined, bytes: found.tableBytes }] : [],
    snapshots: found.snapshots.map((snapshot) => ({ ...snapshot, where: `"${schema}".snapshots ${snapshot.position}` })),
  };
}

async function makePool(connectionString: string): Promise<PostgresPool> {
  let pg: typeof PgModule;
  try {
    pg = (await import('pg')).default;
  } catch (error) {
    throw new LogStoreError({ store: 'postgres', message: "the 'pg' package is needed for postgres:// logs: npm install pg", cause: error });
  }
  const pool = new pg.Pool({ connectionString, max: 4 });
  // An idle connection that drops is replaced on the next query; the query then reports it.
  pool.on('error', () => undefined);
  return pool;
}
