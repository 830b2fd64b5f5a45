import { LogStoreError } from '@ordo/core';
import type { PostgresPool, PostgresPoolClient } from './postgres-pool.js';
import type { PostgresTables } from './postgres-tables.js';

/** The table layout this code reads and writes. A later layout adds a migration from this one. */
export const schemaVersionCurrent = 1;

// First key of the two-key advisory lock that serializes first opens ('ORDO' in ASCII); the
// second key is a hash of the schema name, so different logs do not wait for each other.
const openLockKey = 0x4f52444f;

/**
 * Creates the schema and tables on first open, idempotently. `CREATE ... IF NOT EXISTS` alone
 * is not safe when two processes open a new log at the same moment (both may try to create the
 * same catalog rows and one fails on a unique violation), so the whole step runs in one
 * transaction under a transaction-scoped advisory lock. Returns the schema version found.
 */
export async function ensureSchema(pool: PostgresPool, tables: PostgresTables): Promise<number> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query({ text: 'BEGIN' });
    await client.query({ text: 'SELECT pg_advisory_xact_lock($1, hashtext($2))', values: [openLockKey, tables.schema] });
    const version = (await readSchemaVersion(client, tables)) ?? (await createTables(client, tables));
    if (version <= schemaVersionCurrent) await ensureRelayTable(client, tables);
    await client.query({ text: 'COMMIT' });
    if (version > schemaVersionCurrent) {
      throw new LogStoreError({
        store: 'postgres',
        message: `schema ${tables.schema} has layout version ${version}; this version of Ordo reads up to ${schemaVersionCurrent}`,
      });
    }
    return version;
  } catch (error) {
    broken = error instanceof Error ? error : new Error(String(error));
    await client.query({ text: 'ROLLBACK' }).catch(() => undefined);
    throw error;
  } finally {
    client.release(broken);
  }
}

async function readSchemaVersion(client: PostgresPoolClient, tables: PostgresTables): Promise<number | undefined> {
  const exists = await client.query({ text: 'SELECT to_regclass($1) IS NOT NULL AS found', values: [tables.meta] });
  if ((exists.rows[0] as { found: boolean } | undefined)?.found !== true) return undefined;
  const result = await client.query({ text: `SELECT value FROM ${tables.meta} WHERE key = 'schema_version'` });
  const row = result.rows[0] as { value: string } | undefined;
  return row === undefined ? undefined : Number(row.value);
}

/**
 * The relay table came after layout 1 without changing it: a table that older code never reads
 * or writes, so logs made before it get it on their next open (here, under the open lock) and
 * older processes keep opening the schema. Its one row (slot 1) is the commit relay's lead as
 * its holder wrote it: the address, the term, and the session (pid and start) that holds the
 * lead's advisory lock; the lock, not the row, says whether that lead is still on.
 */
async function ensureRelayTable(client: PostgresPoolClient, tables: PostgresTables): Promise<void> {
  const exists = await client.query({ text: 'SELECT to_regclass($1) IS NOT NULL AS found', values: [tables.relay] });
  if ((exists.rows[0] as { found: boolean } | undefined)?.found === true) return;
  await client.query({
    text: `CREATE TABLE IF NOT EXISTS ${tables.relay} (
             slot smallint PRIMARY KEY CHECK (slot = 1),
             address text NOT NULL,
             term text NOT NULL,
             pid integer NOT NULL,
             backend_start timestamptz NOT NULL)`,
  });
}

async function createTables(client: PostgresPoolClient, tables: PostgresTables): Promise<number> {
  // `record` is json, not jsonb: json keeps the text as written (so reads return exactly what was
  // appended), accepts every string JSON.stringify produces (jsonb refuses \u0000) and costs only
  // a syntax check on insert. `request_id` is unique where present: that is what makes a
  // requestId idempotent across processes (I7). The index is partial, so records without a
  // requestId (most of them) cost no second index insertion.
  const statements = [
    `CREATE SCHEMA IF NOT EXISTS "${tables.schema}"`,
    `CREATE TABLE IF NOT EXISTS ${tables.records} (
       position bigint PRIMARY KEY CHECK (position >= 1),
       tx_id text NOT NULL,
       request_id text,
       record json NOT NULL)`,
    `CREATE UNIQUE INDEX IF NOT EXISTS records_request_id ON ${tables.records} (request_id) WHERE request_id IS NOT NULL`,
    `CREATE TABLE IF NOT EXISTS ${tables.snapshots} (
       position bigint PRIMARY KEY CHECK (position >= 0),
       snapshot json NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${tables.meta} (key text PRIMARY KEY, value text NOT NULL)`,
    `INSERT INTO ${tables.meta} (key, value) VALUES ('schema_version', '${schemaVersionCurrent}') ON CONFLICT (key) DO NOTHING`,
  ];
  for (const text of statements) await client.query({ text });
  return (await readSchemaVersion(client, tables)) ?? schemaVersionCurrent;
}
