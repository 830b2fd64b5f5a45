import { LogCorruptError, type Snapshot } from '@ordo/core';
import { damagedSuffix, parseSegmentFileName, parseSnapshotFileName, pathIn, temporarySuffix } from './dir-layout.js';
import type { FileLogFileSystem } from './file-system.js';
import type { Segment } from './segment.js';
import { scanSegment } from './segment-scanner.js';
import { readSnapshotFile } from './snapshot-file.js';

export interface RecoverInput {
  readonly fileSystem: FileLogFileSystem;
  readonly dir: string;
  /** A writable open cuts a torn tail and clears leftovers; a read-only one only ignores them. */
  readonly writable: boolean;
  readonly durable: boolean;
  readonly scanChunkBytes: number;
}

export interface RecoveredLog {
  readonly segments: Segment[];
  readonly head: number;
  readonly snapshot: Snapshot | undefined;
}

/**
 * Brings a log directory to a known state on open: verifies every segment, cuts a torn tail,
 * picks the newest valid snapshot, and checks that the records after it are all present.
 */
export async function recoverDir(input: RecoverInput): Promise<RecoveredLog> {
  const names = (await input.fileSystem.list(input.dir)).sort();
  if (input.writable) await removeLeftovers(input, names);
  const segments = await recoverSegments(input, names);
  const head = segments.at(-1)?.lastPosition ?? 0;
  const firstAvailable = segments[0]?.firstPosition ?? head + 1;
  const snapshot = await newestValidSnapshot(input, names, { head, firstAvailable });
  const first = segments[0];
  if (first !== undefined && first.firstPosition > 1 && (snapshot?.position ?? 0) < first.firstPosition - 1) {
    throw new LogCorruptError({
      file: first.path,
      offset: 0,
      reason: `records before ${first.firstPosition} were pruned and no valid snapshot covers them`,
    });
  }
  return { segments, head, snapshot };
}

async function removeLeftovers(input: RecoverInput, names: readonly string[]): Promise<void> {
  // A snapshot that was being written when the process stopped was never acknowledged.
  for (const name of names.filter((entry) => entry.endsWith(temporarySuffix))) {
    await input.fileSystem.remove(pathIn(input.dir, name));
  }
}

async function recoverSegments(input: RecoverInput, names: readonly string[]): Promise<Segment[]> {
  const found = names.flatMap((name) => {
    const firstPosition = parseSegmentFileName(name);
    return firstPosition === undefined ? [] : [{ name, firstPosition }];
  });
  found.sort((a, b) => a.firstPosition - b.firstPosition);
  const segments: Segment[] = [];
  for (const [index, entry] of found.entries()) {
    const path = pathIn(input.dir, entry.name);
    const previous = segments.at(-1);
    if (previous !== undefined && entry.firstPosition !== previous.lastPosition + 1) {
      throw new LogCorruptError({ file: path, offset: 0, reason: `segment starts at ${entry.firstPosition}, but the log before it ends at ${previous.lastPosition}` });
    }
    const isLast = index === found.length - 1;
    const scanned = await scanSegment({ fileSystem: input.fileSystem, ...entry, path, isLast, chunkBytes: input.scanChunkBytes });
    const keep = scanned.torn === undefined ? true : await cutTornTail(input, scanned.segment);
    if (keep) segments.push(scanned.segment);
  }
  return segments;
}

/** Cuts the unacknowledged bytes of the last segment; returns false when the segment is removed. */
async function cutTornTail(input: RecoverInput, segment: Segment): Promise<boolean> {
  const holdsRecords = segment.lastPosition >= segment.firstPosition;
  if (!input.writable) return holdsRecords;
  if (!holdsRecords) {
    await input.fileSystem.remove(segment.path);
    if (input.durable) await input.fileSystem.syncDirectory(input.dir);
    return false;
  }
  const handle = await input.fileSystem.open(segment.path, 'append');
  try {
    await handle.truncate(segment.endOffset);
    if (input.durable) await handle.datasync();
  } finally {
    await handle.close();
  }
  return true;
}

async function newestValidSnapshot(
  input: RecoverInput,
  names: readonly string[],
  log: { head: number; firstAvailable: number },
): Promise<Snapshot | undefined> {
  const candidates = names.flatMap((name) => {
    const position = parseSnapshotFileName(name);
    return position === undefined ? [] : [{ name, position }];
  });
  candidates.sort((a, b) => b.position - a.position);
  for (const candidate of candidates) {
    // A snapshot past the head (possible only after a crash with durability 'none') cannot be trusted.
    if (candidate.position > log.head) continue;
    // Older snapshots cannot help either: the records right after them are gone.
    if (candidate.position < log.firstAvailable - 1) return undefined;
    const path = pathIn(input.dir, candidate.name);
    const read = await readSnapshotFile(input.fileSystem, path);
    if ('snapshot' in read && read.snapshot.position === candidate.position) return read.snapshot;
    if (input.writable) await input.fileSystem.rename(path, `${path}${damagedSuffix}`);
  }
  return undefined;
}
