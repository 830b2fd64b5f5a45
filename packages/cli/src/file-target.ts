import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileLog, inspectFileLog, nodeFileSystem, readFileLogSnapshot } from '@ordo/adapters/file';
import type { LogStore } from '@ordo/core';
import { TargetNotEmptyError } from './cli-errors.js';
import type { LogInspection, LogTarget, NewLog, SnapshotEntry } from './log-target.js';

/** A file log directory (`file:DIR`). */
export function fileTarget(dir: string): LogTarget {
  const shown = `file:${dir}`;
  return {
    shown,
    openLog: ({ writable }) => fileLog({ dir, readOnly: !writable }),
    inspect: () => inspectDir(dir),
    readSnapshot: (entry: SnapshotEntry) => readFileLogSnapshot({ path: entry.where }),
    createLog: () => createDir(dir, shown),
    close: async () => undefined,
  };
}

async function inspectDir(dir: string): Promise<LogInspection> {
  const found = await inspectFileLog({ dir });
  return {
    firstPosition: found.segments[0]?.position,
    parts: found.segments.map((segment) => ({ name: segment.path, firstPosition: segment.position, bytes: segment.bytes })),
    snapshots: found.snapshots.map((snapshot) => ({ position: snapshot.position, bytes: snapshot.bytes, where: snapshot.path })),
  };
}

/**
 * The new log is written in a sibling directory and renamed to DIR only when complete, so an
 * import or copy that is killed leaves no log at DIR that looks whole (only the sibling, which
 * the next import or copy to DIR removes).
 */
async function createDir(dir: string, shown: string): Promise<NewLog> {
  const existing = await readdir(dir).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  });
  if (existing.length > 0) throw new TargetNotEmptyError({ target: shown, holds: `${existing.length} files` });
  const parent = dirname(resolve(dir));
  await mkdir(parent, { recursive: true, mode: 0o700 });
  await removeLeftovers(parent, basename(dir));
  const building = join(parent, `.${basename(dir)}.ordo-new-${process.pid}`);
  await rm(building, { recursive: true, force: true });
  const log: LogStore = fileLog({ dir: building });
  return {
    log,
    readBack: () => fileLog({ dir: building, readOnly: true }),
    async publish() {
      await log.close();
      await rename(building, dir);
      // The rename is the moment the log appears: make it durable before saying it is done.
      await nodeFileSystem.syncDirectory(parent);
    },
    async discard() {
      await log.close().catch(() => undefined);
      await rm(building, { recursive: true, force: true });
    },
  };
}

/** Directories left by an import or copy into DIR whose process is gone. */
async function removeLeftovers(parent: string, name: string): Promise<void> {
  const prefix = `.${name}.ordo-new-`;
  for (const entry of await readdir(parent)) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length));
    if (Number.isSafeInteger(pid) && pid !== process.pid && isRunning(pid)) continue;
    await rm(join(parent, entry), { recursive: true, force: true });
  }
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
