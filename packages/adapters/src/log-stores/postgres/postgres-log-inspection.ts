import type { Snapshot } from '@ordo/core';
import type { PostgresPool } from './postgres-pool.js';
import { postgresTables } from './postgres-tables.js';
import { decodeSnapshot, positionFromText } from './record-codec.js';

export interface PostgresLogInspection {
  /** False when the schema holds no log tables (nothing was ever opened there). */
  readonly exists: boolean;
  /** The lowest and highest stored positions and the row count (0, 0, 0 for an empty log). */
  readonly firstPosition: number;
  readonly head: number;
  readonly records: number;
  /** Bytes of the records table with its indexes. */
  readonly tableBytes: number;
  readonly snapshots: readonly { readonly position: number; readonly bytes: number }[];
}

/**
 * Facts about a PostgreSQL log for tools such as `ordo info`, read without opening the log
 * (nothing is created or changed). `pool` stays the caller's.
 */
export async function inspectPostgresLog(input: { readonly pool: PostgresPool; readonly schema: string }): Promise<PostgresLogInspection> {
  const tables = postgresTables(input.schema);
  const found = await input.pool.query({ text: 'SELECT to_regclass($1) IS NOT NULL AS found', values: [tables.records] });
  if ((found.rows[0] as { found: boolean } | undefined)?.found !== true) {
    return { exists: false, firstPosition: 0, head: 0, records: 0, tableBytes: 0, snapshots: [] };
  }
  const summary = await input.pool.query({
    text: `SELECT coalesce(min(position), 0)::text AS first, coalesce(max(position), 0)::text AS head, count(*)::text AS count,
                  pg_total_relation_size($1::regclass)::text AS bytes FROM ${tables.records}`,
    values: [tables.records],
  });
  const row = summary.rows[0] as { first: string; head: string; count: string; bytes: string };
  const snapshots = await input.pool.query({
    text: `SELECT position::text AS at, octet_length(snapshot::text)::text AS bytes FROM ${tables.snapshots} ORDER BY position`,
  });
  return {
    exists: true,
    firstPosition: positionFromText(tables.records, row.first),
    head: positionFromText(tables.records, row.head),
    records: Number(row.count),
    tableBytes: Number(row.bytes),
    snapshots: (snapshots.rows as { at: string; bytes: string }[]).map((entry) => ({ position: positionFromText(tables.snapshots, entry.at), bytes: Number(entry.bytes) })),
  };
}

/** Reads one stored snapshot; a malformed one is a `LogCorruptError` naming the table and position. */
export async function readPostgresSnapshot(input: { readonly pool: PostgresPool; readonly schema: string; readonly position: number }): Promise<Snapshot | undefined> {
  const tables = postgresTables(input.schema);
  const result = await input.pool.query({
    text: `SELECT snapshot::text AS body FROM ${tables.snapshots} WHERE position = $1`,
    values: [input.position],
  });
  const row = result.rows[0] as { body: string } | undefined;
  return row === undefined ? undefined : decodeSnapshot(tables.snapshots, input.position, row.body);
}
