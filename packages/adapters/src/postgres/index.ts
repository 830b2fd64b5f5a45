export { postgresLog, type PostgresLogOptions } from './postgres-log.js';
export type {
  PostgresNotification,
  PostgresPool,
  PostgresPoolClient,
  PostgresQuery,
  PostgresQueryResult,
} from './postgres-pool.js';
