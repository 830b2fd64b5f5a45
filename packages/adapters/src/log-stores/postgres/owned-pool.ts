import { LogStoreError } from '@ordo/core';
import type { Pool as PgPool } from 'pg';
import type { PostgresPool, PostgresPoolClient, PostgresQuery, PostgresQueryResult } from './postgres-pool.js';

// The owned pool: one connection for appends, one for LISTEN, the rest for reads and head().
const ownedPoolConnectionsMax = 6;
const connectTimeoutMs = 10_000;

/**
 * The pool a PostgreSQL log store makes for itself from a connection string. `pg` is loaded
 * on the first query or connection, not when this module is imported, so that a caller who
 * passes its own pool, or never opens a PostgreSQL log, does not need `pg` installed.
 */
export function ownedPool(connectionString: string): PostgresPool {
  let loading: Promise<PostgresPool> | undefined;
  let ended = false;
  const pool = (): Promise<PostgresPool> => (loading ??= createPool(connectionString));
  return {
    connect: async (): Promise<PostgresPoolClient> => (await pool()).connect(),
    query: async (query: PostgresQuery): Promise<PostgresQueryResult> => (await pool()).query(query),
    end: async (): Promise<void> => {
      if (ended) return;
      ended = true;
      // A pool that was never used was never made: there is nothing to end, and no reason to load pg.
      if (loading !== undefined) await (await loading.catch(() => undefined))?.end();
    },
  };
}

async function createPool(connectionString: string): Promise<PostgresPool> {
  let Pool: typeof PgPool;
  try {
    ({ Pool } = (await import('pg')).default);
  } catch (error) {
    throw new LogStoreError({
      store: 'postgres',
      message: 'the peer dependency pg is not installed: add it (npm install pg) or pass your own pool',
      cause: error,
      outcome: 'not-written',
    });
  }
  const created = new Pool({
    connectionString,
    max: ownedPoolConnectionsMax,
    connectionTimeoutMillis: connectTimeoutMs,
    keepAlive: true,
    application_name: 'ordo',
  });
  // An idle pooled connection that breaks emits 'error' on the pool; the pool already drops it,
  // and the next query opens a new one. Without a listener Node would crash the process.
  created.on('error', () => undefined);
  return created;
}
