import { LogCorruptError, type Snapshot } from '@ordo/core';
import { parseSegmentFileName, parseSnapshotFileName, pathIn } from './dir-layout.js';
import { nodeFileSystem, type FileLogFileSystem } from './file-system.js';
import { readSnapshotFile } from './snapshot-file.js';

/** One file of a log directory, as `inspectFileLog` lists it. */
export interface FileLogFile {
  readonly path: string;
  /** The first record's position for a segment, the state's position for a snapshot. */
  readonly position: number;
  readonly bytes: number;
}

export interface FileLogInspection {
  /** Segment files in position order. */
  readonly segments: readonly FileLogFile[];
  /** Snapshot files in position order (damaged ones included: `readFileLogSnapshot` tells). */
  readonly snapshots: readonly FileLogFile[];
}

/**
 * Lists a log directory's segments and snapshots without opening the log (no lock, no
 * recovery, nothing changed), for tools such as `ordo info` and `ordo verify`.
 */
export async function inspectFileLog(input: { readonly dir: string; readonly fileSystem?: FileLogFileSystem }): Promise<FileLogInspection> {
  const fileSystem = input.fileSystem ?? nodeFileSystem;
  const names = await fileSystem.list(input.dir);
  const segments: FileLogFile[] = [];
  const snapshots: FileLogFile[] = [];
  for (const name of names) {
    const segment = parseSegmentFileName(name);
    const snapshot = parseSnapshotFileName(name);
    if (segment === undefined && snapshot === undefined) continue;
    const path = pathIn(input.dir, name);
    const file = { path, position: segment ?? snapshot ?? 0, bytes: await sizeOf(fileSystem, path) };
    (segment === undefined ? snapshots : segments).push(file);
  }
  const byPosition = (a: FileLogFile, b: FileLogFile): number => a.position - b.position;
  return { segments: segments.sort(byPosition), snapshots: snapshots.sort(byPosition) };
}

/** Reads and checks one snapshot file; damage is a `LogCorruptError` naming the file. */
export async function readFileLogSnapshot(input: { readonly path: string; readonly fileSystem?: FileLogFileSystem }): Promise<Snapshot> {
  const read = await readSnapshotFile(input.fileSystem ?? nodeFileSystem, input.path);
  if ('damaged' in read) throw new LogCorruptError({ store: 'file', location: input.path, offset: 0, reason: `snapshot damaged: ${read.damaged}` });
  const named = parseSnapshotFileName(input.path.slice(input.path.lastIndexOf('/') + 1));
  if (named !== undefined && named !== read.snapshot.position) {
    throw new LogCorruptError({ store: 'file', location: input.path, offset: 0, reason: `snapshot holds position ${read.snapshot.position}, its name ${named}` });
  }
  return read.snapshot;
}

async function sizeOf(fileSystem: FileLogFileSystem, path: string): Promise<number> {
  const handle = await fileSystem.open(path, 'read');
  try {
    return await handle.size();
  } finally {
    await handle.close();
  }
}
