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

/** How the processes of a shared log commit: racing for the head, taking turns (append-turn.ts), or through the commit relay. */
export type CommitPath = 'race' | 'turns' | 'relay';

/** The relay's settings in tests: a quick lead check, so that processes find the leader soon after they open. */
const relay = { checkMs: 100 };

export function postgresTarget(url: string, schema: string, options: { readonly path?: CommitPath } = {}): SharedLogTarget {
  const kind = { race: 'postgres', turns: 'postgres-turns', relay: 'postgres-relay' }[options.path ?? 'race'];
  return { args: [kind, url, schema], open: () => logFromArgs(kind, url, schema) };
}

export function etcdTarget(endpoints: readonly string[], prefix: string, options: { readonly path?: 'race' | 'relay' } = {}): SharedLogTarget {
  const kind = options.path === 'relay' ? 'etcd-relay' : 'etcd';
  return { args: [kind, endpoints.join(','), prefix], open: () => logFromArgs(kind, endpoints.join(','), prefix) };
}

/** The log store named by `kind location name` (see SharedLogTarget.args). */
export function logFromArgs(kind: string | undefined, location: string | undefined, name: string | undefined): LogStore {
  if (location === undefined || name === undefined) throw new Error('usage: postgres <url> <schema> | etcd <endpoints> <prefix>');
  if (kind === 'postgres' || kind === 'postgres-turns') return postgresLog({ connectionString: location, schema: name, writerTurns: kind === 'postgres-turns' });
  if (kind === 'postgres-relay') return postgresLog({ connectionString: location, schema: name, relay });
  if (kind === 'etcd') return etcdLog({ endpoints: location.split(','), prefix: name });
  if (kind === 'etcd-relay') return etcdLog({ endpoints: location.split(','), prefix: name, relay });
  throw new Error(`unknown log kind ${kind}`);
}
