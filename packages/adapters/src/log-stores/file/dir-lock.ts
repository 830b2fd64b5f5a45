import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { LogLockedError } from '@ordo/core';
import { lockFileName, pathIn } from './dir-layout.js';
import type { FileLogFileSystem } from './file-system.js';
import { readFully } from './read-fully.js';

/** Who holds a log directory for writing; stored as JSON in its LOCK file. */
interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** The holder process's start time (Linux clock ticks), so that a reused pid is not mistaken for the holder. */
  readonly started: string | undefined;
  readonly token: string;
}

export interface DirLock {
  /** Removes the lock file if it is still this holder's. */
  release(): Promise<void>;
}

// Each attempt either takes the lock, finds a live holder, or clears one stale lock; a few suffice.
const lockAttemptsMax = 4;
const lockBytesMax = 4096;

/**
 * Takes the writer's lock of `dir`. The lock file is created complete (written under a
 * temporary name, then linked to LOCK, which fails if LOCK exists), so a reader never sees a
 * half-written lock. A lock whose process no longer runs on this host is stale: it is moved
 * aside under a unique name, checked to be the one judged stale, and removed.
 * Throws `LogLockedError` when a live process (or one on another host) holds it.
 *
 * Node has no flock, so this is a lock file, not a kernel lock. One race remains: if two
 * processes clear the same stale lock at the same instant and one of them moves aside the
 * lock the other just took, it puts it back at once, but a third process starting in those
 * microseconds could take the lock too. Restarts after a crash are rarely that crowded.
 */
export async function acquireDirLock(fileSystem: FileLogFileSystem, dir: string): Promise<DirLock> {
  const lockPath = pathIn(dir, lockFileName);
  const me: LockHolder = { pid: process.pid, host: hostname(), started: processStarted(process.pid), token: randomBytes(12).toString('hex') };
  for (let attempt = 0; attempt < lockAttemptsMax; attempt += 1) {
    if (await tryCreate(fileSystem, lockPath, me)) return { release: () => releaseLock(fileSystem, lockPath, me.token) };
    const holder = await readHolder(fileSystem, lockPath);
    if (holder === 'missing') continue;
    if (holder !== 'unreadable' && isAlive(holder)) throw new LogLockedError({ path: dir, holder: `pid ${holder.pid} on ${holder.host}` });
    await clearStale(fileSystem, lockPath, holder === 'unreadable' ? undefined : holder.token, me.token);
  }
  throw new LogLockedError({ path: dir, holder: 'a process that keeps replacing the lock' });
}

async function tryCreate(fileSystem: FileLogFileSystem, lockPath: string, me: LockHolder): Promise<boolean> {
  const draftPath = `${lockPath}.${me.token}`;
  const handle = await fileSystem.open(draftPath, 'create');
  try {
    await handle.write(Buffer.from(JSON.stringify(me), 'utf8'), 0);
  } finally {
    await handle.close();
  }
  try {
    await fileSystem.link(draftPath, lockPath);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  } finally {
    await fileSystem.remove(draftPath);
  }
}

async function readHolder(fileSystem: FileLogFileSystem, path: string): Promise<LockHolder | 'missing' | 'unreadable'> {
  let text: string;
  try {
    const handle = await fileSystem.open(path, 'read');
    try {
      text = (await readFully(handle, 0, lockBytesMax)).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string' || typeof parsed.token !== 'string') return 'unreadable';
    return { pid: parsed.pid, host: parsed.host, token: parsed.token, started: typeof parsed.started === 'string' ? parsed.started : undefined };
  } catch {
    return 'unreadable';
  }
}

function isAlive(holder: LockHolder): boolean {
  // A process on another host cannot be checked from here; only a person can clear its lock.
  if (holder.host !== hostname()) return true;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
  const started = processStarted(holder.pid);
  return started === undefined || holder.started === undefined || started === holder.started;
}

async function clearStale(fileSystem: FileLogFileSystem, lockPath: string, staleToken: string | undefined, myToken: string): Promise<void> {
  const asidePath = `${lockPath}.stale-${myToken}`;
  try {
    await fileSystem.rename(lockPath, asidePath);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw error;
  }
  const moved = await readHolder(fileSystem, asidePath);
  const movedToken = typeof moved === 'object' ? moved.token : undefined;
  if (movedToken !== staleToken) {
    // Another process took the lock between our read and our rename: give it back.
    await fileSystem.link(asidePath, lockPath).catch(() => undefined);
  }
  await fileSystem.remove(asidePath);
}

async function releaseLock(fileSystem: FileLogFileSystem, lockPath: string, token: string): Promise<void> {
  const holder = await readHolder(fileSystem, lockPath);
  if (typeof holder === 'object' && holder.token === token) await fileSystem.remove(lockPath);
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), or undefined off Linux. */
function processStarted(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; fields after it start past the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}
