import { InvalidArgumentError } from '@ordo/core';

/** The names one log uses inside its PostgreSQL schema, quoted and ready for SQL text. */
export interface PostgresTables {
  readonly schema: string;
  /** One row per record: position (primary key), tx_id, request_id (unique), record (json). */
  readonly records: string;
  /** One row per snapshot written, keyed by its position. */
  readonly snapshots: string;
  /** Key/value rows; `schema_version` says which layout the tables have. */
  readonly meta: string;
  /** At most one row: the commit relay's lead as its holder wrote it (see relay-election.ts). */
  readonly relay: string;
  /** The LISTEN/NOTIFY channel on which appends announce the new head. */
  readonly channel: string;
}

// A schema name becomes part of SQL text and of the notification channel (at most 63 bytes in
// PostgreSQL), so it is restricted to plain lower-case identifiers instead of being escaped.
const schemaNamePattern = /^[a-z_][a-z0-9_]*$/;
const schemaNameLengthMax = 48;

export function postgresTables(schema: string): PostgresTables {
  if (!schemaNamePattern.test(schema) || schema.length > schemaNameLengthMax) {
    throw new InvalidArgumentError(
      'schema',
      `must match ${String(schemaNamePattern)} and have at most ${schemaNameLengthMax} characters, got ${JSON.stringify(schema)}`,
    );
  }
  const quoted = `"${schema}"`;
  return {
    schema,
    records: `${quoted}.records`,
    snapshots: `${quoted}.snapshots`,
    meta: `${quoted}.meta`,
    relay: `${quoted}.relay`,
    channel: `ordo_log:${schema}`,
  };
}
