import { fileURLToPath } from 'node:url';
import { CliUsageError } from './cli-errors.js';
import { fileTarget } from './file-target.js';
import type { LogTarget } from './log-target.js';
import { postgresTarget } from './postgres-target.js';

/**
 * URL scheme -> log. Each entry turns a URL of its scheme into a `LogTarget`; an etcd log
 * store joins as one more entry (`etcd:`), and no command changes.
 */
const schemes: Readonly<Record<string, (url: string) => LogTarget>> = {
  'file:': fileUrl,
  'postgres:': postgresUrl,
  'postgresql:': postgresUrl,
};

/** The schemes `openLogUrl` understands, for messages and help. */
export const logUrlSchemes = Object.keys(schemes);

/**
 * The log a URL names: `file:DIR` (relative or absolute; `file:///abs/dir` too) or
 * `postgres://user@host:port/db?schema=NAME` (schema default 'ordo').
 */
export function openLogUrl(url: string): LogTarget {
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0].toLowerCase();
  const make = scheme === undefined ? undefined : schemes[scheme];
  if (make === undefined) throw new CliUsageError(`cannot tell which log ${JSON.stringify(url)} names; a log URL starts with ${logUrlSchemes.join(', ')}`);
  return make(url);
}

function fileUrl(url: string): LogTarget {
  const dir = url.startsWith('file://') ? fileURLToPath(url) : url.slice('file:'.length);
  if (dir === '') throw new CliUsageError('file: needs a directory, as in file:./data/ordo');
  return fileTarget(dir);
}

function postgresUrl(url: string): LogTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliUsageError(`${JSON.stringify(url)} is not a valid URL`);
  }
  const schema = parsed.searchParams.get('schema') ?? 'ordo';
  // The schema is Ordo's, not the driver's: pass the rest on as it was.
  parsed.searchParams.delete('schema');
  const shownUrl = new URL(parsed.href);
  if (shownUrl.password !== '') shownUrl.password = '***';
  shownUrl.searchParams.set('schema', schema);
  return postgresTarget({ connectionString: parsed.href, schema, shown: decodeURIComponent(shownUrl.href) });
}
