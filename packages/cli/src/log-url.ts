import { fileURLToPath } from 'node:url';
import { CliUsageError } from './cli-errors.js';
import { etcdTarget } from './etcd-target.js';
import { fileTarget } from './file-target.js';
import type { LogTarget } from './log-target.js';
import { postgresTarget } from './postgres-target.js';

/** URL scheme -> log. Each entry turns a URL of its scheme into a `LogTarget`; no command knows the schemes. */
const schemes: Readonly<Record<string, (url: string) => LogTarget>> = {
  'file:': fileUrl,
  'postgres:': postgresUrl,
  'postgresql:': postgresUrl,
  'etcd:': etcdUrl,
};

/** The schemes `openLogUrl` understands, for messages and help. */
export const logUrlSchemes = Object.keys(schemes);

/**
 * The log a URL names: `file:DIR` (relative or absolute; `file:///abs/dir` too) or
 * `postgres://user@host:port/db?schema=NAME` (schema default 'ordo') or
 * `etcd://[user:password@]host:port,host:port,.../PREFIX` (every member; prefix default 'ordo').
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

function etcdUrl(url: string): LogTarget {
  const match = /^etcd:\/\/(?:([^@/]*)@)?([^/]+)(?:\/(.*))?$/i.exec(url);
  if (match === null) throw new CliUsageError(`${JSON.stringify(url)} is not an etcd log URL: etcd://host:port,host:port/PREFIX`);
  const [, userInfo, hosts, path] = match;
  const endpoints = hosts!.split(',').map((host) => host.trim());
  if (endpoints.some((host) => !/^[^\s:,]+:\d+$/.test(host))) {
    throw new CliUsageError(`${JSON.stringify(url)}: name every member as host:port, separated by commas`);
  }
  const prefix = path === undefined || path === '' ? 'ordo' : decodeURIComponent(path);
  let auth: { username: string; password: string } | undefined;
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(':');
    if (colon === -1) throw new CliUsageError(`${JSON.stringify(url)}: give etcd's user as user:password@`);
    auth = { username: decodeURIComponent(userInfo.slice(0, colon)), password: decodeURIComponent(userInfo.slice(colon + 1)) };
  }
  const shown = `etcd://${auth === undefined ? '' : `${auth.username}:***@`}${endpoints.join(',')}/${prefix}`;
  return etcdTarget({ location: { endpoints: endpoints.map((host) => `http://${host}`), prefix, ...(auth === undefined ? {} : { auth }) }, shown });
}
