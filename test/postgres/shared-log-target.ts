import type { LogStore } from '@ordo/core';
import { etcdLog } from '@ordo/adapters/etcd';
import { postgresLog } from '@ordo/adapters/postgres';

/**
 * A log that several processes share, named so that a child process can open it too: the
 * multi-process suites run the same cases on PostgreSQL and on etcd.
 */
export interface SharedLogTarget {
  /** What store-child.ts takes on its command line: `postgres <url> <schema>` (or `postgres-turns ...`) or `etcd <endpoints> <prefix>`. */
  readonly args: readonly string[];
  /** A new log store instance over the shared log. */
  open(): LogStore;
}

/** `writerTurns` opens every store of the log with writers taking turns (append-turn.ts). */
export function postgresTarget(url: string, schema: string, options: { readonly writerTurns?: boolean } = {}): SharedLogTarget {
  const writerTurns = options.writerTurns === true;
  return { args: [writerTurns ? 'postgres-turns' : 'postgres', url, schema], open: () => postgresLog({ connectionString: url, schema, writerTurns }) };
}

export function etcdTarget(endpoints: readonly string[], prefix: string): SharedLogTarget {
  return { args: ['etcd', endpoints.join(','), prefix], open: () => etcdLog({ endpoints, prefix }) };
}

/** The log store named by `kind location name` (see SharedLogTarget.args). */
export function logFromArgs(kind: string | undefined, location: string | undefined, name: string | undefined): LogStore {
  if (location === undefined || name === undefined) throw new Error('usage: postgres <url> <schema> | etcd <endpoints> <prefix>');
  if (kind === 'postgres' || kind === 'postgres-turns') return postgresLog({ connectionString: location, schema: name, writerTurns: kind === 'postgres-turns' });
  if (kind === 'etcd') return etcdLog({ endpoints: location.split(','), prefix: name });
  throw new Error(`unknown log kind ${kind}`);
}
