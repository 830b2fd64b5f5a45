/**
 * The PostgreSQL log store: many processes, on many hosts, share one gapless, strictly
 * serialized log.
 *
 * ```ts
 * import { openStore } from '@ordo/core';
 * import { postgresLog } from '@ordo/adapters/postgres';
 *
 * const store = await openStore({
 *   entities: [Vm, Host],
 *   log: postgresLog({ connectionString: process.env.DATABASE_URL!, schema: 'ordo' }),
 * });
 * ```
 *
 * The first open creates the schema and its tables (records, snapshots, meta). Every process
 * that opens the same schema appends to the same log; `store.sync()` or any read-only
 * transaction catches up with what others committed. `pg` is a peer dependency; pass your own
 * `pg.Pool` as `pool` to share connections (then you own it and its 'error' events).
 */
export { postgresLog, type PostgresLogOptions, type PostgresLogStore } from './postgres-log.js';
export type { RelayElection, RelayLeader, RelayOptions } from '../relay/election.js';
export { inspectPostgresLog, readPostgresSnapshot, type PostgresLogInspection } from './postgres-log-inspection.js';
export type {
  PostgresNotification,
  PostgresPool,
  PostgresPoolClient,
  PostgresQuery,
  PostgresQueryResult,
} from './postgres-pool.js';
