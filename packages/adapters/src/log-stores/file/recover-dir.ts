import { LogCorruptError, type Snapshot } from '@ordo/core';
import { damagedSuffix, parseSegmentFileName, parseSnapshotFileName, pathIn, snapshotFileName, temporarySuffix } from './dir-layout.js';
import type { FileLogFileSystem } from './file-system.js';
import type { Segment } from './segment.js';
import { scanSegment, type TornWrite } from './segment-scanner.js';
import { readSnapshotFile } from './snapshot-file.js';
import { VerifiedChunks, type VerifiedChunk } from './verified-chunks.js';

/**
 * What a writable open changed in the directory to bring the log to a known state. None of
 * these loses an acknowledged record: a torn tail is the last write, which was never
 * acknowledged; a damaged snapshot is kept under another name; an unfinished snapshot was
 * never acknowledged either.
 */
export type FileLogRecoveryEvent =
  | {
      /**
       * The last segment ended in a torn write, which starts at `offset` and is damaged as
       * `reason` says. `bytes` were removed: the file's bytes from `offset` on, or the whole
       * file when it held no record (`fileRemoved`).
       */
      readonly action: 'cut-torn-tail';
      readonly file: string;
      readonly offset: number;
      readonly bytes: number;
      readonly fileRemoved: boolean;
      readonly reason: string;
    }
  | {
      /** A snapshot failed its checks; it was renamed to `movedTo` and an older one or a full replay was used. */
      readonly action: 'set-aside-damaged-snapshot';
      readonly file: string;
      readonly movedTo: string;
      readonly reason: string;
    }
  | {
      /** A snapshot that was being written when the last process stopped was removed. */
      readonly action: 'removed-unfinished-snapshot';
      readonly file: string;
    };

export interface RecoverInput {
  readonly fileSystem: FileLogFileSystem;
  readonly dir: string;
  /** A writable open cuts a torn tail and clears leftovers; a read-only one only ignores them. */
  readonly writable: boolean;
  readonly durable: boolean;
  readonly scanChunkBytes: number;
  /** Most bytes of verified frames to keep for the reads after open. */
  readonly verifiedBytesMax: number;
  /** Told of each change a writable open makes, after it is made. */
  readonly onRecovery?: ((event: FileLogRecoveryEvent) => void) | undefined;
}

export interface RecoveredLog {
  readonly segments: Segment[];
  readonly head: number;
  readonly snapshot: Snapshot | undefined;
  /** Verified bytes of the newest records after the snapshot: the ones a store reads next. */
  readonly verified: VerifiedChunk[];
}

/**
 * Brings a log directory to a known state on open: verifies every segment, picks the newest
 * valid snapshot, and checks that the records after it are all present. Only then, when the
 * log is accepted, does it change files (cut a torn tail, set damaged snapshots aside, remove
 * leftovers): a refused log is left exactly as it was found, for a person to inspect.
 */
export async function recoverDir(input: RecoverInput): Promise<RecoveredLog> {
  const names = (await input.fileSystem.list(input.dir)).sort();
  const verified = new VerifiedChunks(input.verifiedBytesMax);
  const scanned = await scanSegments(input, names, verified);
  const segments = scanned.filter((entry) => entry.keep).map((entry) => entry.segment);
  const head = segments.at(-1)?.lastPosition ?? 0;
  refuseLostRecords(input, names, segments, head);
  const firstAvailable = segments[0]?.firstPosition ?? head + 1;
  const chosen = await newestValidSnapshot(input, names, { head, firstAvailable });
  const first = segments[0];
  if (first !== undefined && first.firstPosition > 1 && (chosen.snapshot?.position ?? 0) < first.firstPosition - 1) {
    throw new LogCorruptError({
      store: 'file',
      location: first.path,
      offset: 0,
      reason: `records before ${first.firstPosition} were pruned and no valid snapshot covers them`,
    });
  }
  if (input.writable) {
    await removeLeftovers(input, names);
    for (const { path, reason } of chosen.damaged) {
      const movedTo = `${path}${damagedSuffix}`;
      await input.fileSystem.rename(path, movedTo);
      input.onRecovery?.({ action: 'set-aside-damaged-snapshot', file: path, movedTo, reason });
    }
    for (const entry of scanned) if (entry.torn !== undefined) await cutTornTail(input, entry.segment, entry.torn);
  }
  return { segments, head, snapshot: chosen.snapshot, verified: verified.after(chosen.snapshot?.position ?? 0) };
}

/**
 * A snapshot is only ever written at or below the acknowledged head, so a snapshot past the
 * head means the log lost acknowledged records (a disk that dropped a segment's tail, or a
 * crash with durability 'none'). Opening anyway would reuse those positions, and a later open
 * would fold the new records onto the old snapshot: refuse instead.
 */
function refuseLostRecords(input: RecoverInput, names: readonly string[], segments: readonly Segment[], head: number): void {
  const snapshotPositions = names.map((name) => parseSnapshotFileName(name)).filter((position): position is number => position !== undefined);
  const beyond = Math.max(...snapshotPositions, 0);
  if (beyond <= head) return;
  const last = segments.at(-1);
  throw new LogCorruptError({
    store: 'file',
    location: last?.path ?? pathIn(input.dir, snapshotFileName(beyond)),
    offset: last?.endOffset ?? 0,
    reason: `the log ends at record ${head}, but a snapshot at ${beyond} exists: acknowledged records are missing`,
  });
}

async function removeLeftovers(input: RecoverInput, names: readonly string[]): Promise<void> {
  // A snapshot that was being written when the process stopped was never acknowledged.
  for (const name of names.filter((entry) => entry.endsWith(temporarySuffix))) {
    const file = pathIn(input.dir, name);
    await input.fileSystem.remove(file);
    input.onRecovery?.({ action: 'removed-unfinished-snapshot', file });
  }
}

interface ScannedEntry {
  readonly segment: Segment;
  /** The torn write this segment ends in, to cut on a writable open. */
  readonly torn: TornWrite | undefined;
  /** False for a last segment whose only content is a torn write: it holds no record. */
  readonly keep: boolean;
}

async function scanSegments(input: RecoverInput, names: readonly string[], verified: VerifiedChunks): Promise<ScannedEntry[]> {
  const found = names.flatMap((name) => {
    const firstPosition = parseSegmentFileName(name);
    return firstPosition === undefined ? [] : [{ name, firstPosition }];
  });
  found.sort((a, b) => a.firstPosition - b.firstPosition);
  const entries: ScannedEntry[] = [];
  for (const [index, entry] of found.entries()) {
    const path = pathIn(input.dir, entry.name);
    const previous = entries.at(-1)?.segment;
    if (previous !== undefined && entry.firstPosition !== previous.lastPosition + 1) {
      throw new LogCorruptError({ store: 'file', location: path, offset: 0, reason: `segment starts at ${entry.firstPosition}, but the log before it ends at ${previous.lastPosition}` });
    }
    const isLast = index === found.length - 1;
    const { segment, torn } = await scanSegment({ fileSystem: input.fileSystem, ...entry, path, isLast, chunkBytes: input.scanChunkBytes, keep: verified });
    entries.push({ segment, torn, keep: torn === undefined || segment.lastPosition >= segment.firstPosition });
  }
  return entries;
}

/** Cuts the unacknowledged bytes of the last segment, or removes it when it holds no record. */
async function cutTornTail(input: RecoverInput, segment: Segment, torn: TornWrite): Promise<void> {
  const handle = await input.fileSystem.open(segment.path, 'append');
  let fileBytes: number;
  const fileRemoved = segment.lastPosition < segment.firstPosition;
  try {
    fileBytes = await handle.size();
    if (!fileRemoved) {
      await handle.truncate(segment.endOffset);
      if (input.durable) await handle.datasync();
    }
  } finally {
    await handle.close();
  }
  if (fileRemoved) {
    await input.fileSystem.remove(segment.path);
    if (input.durable) await input.fileSystem.syncDirectory(input.dir);
  }
  const bytes = fileRemoved ? fileBytes : fileBytes - torn.offset;
  input.onRecovery?.({ action: 'cut-torn-tail', file: segment.path, offset: torn.offset, bytes, fileRemoved, reason: torn.reason });
}

async function newestValidSnapshot(
  input: RecoverInput,
  names: readonly string[],
  log: { head: number; firstAvailable: number },
): Promise<{ snapshot: Snapshot | undefined; damaged: { path: string; reason: string }[] }> {
  const damaged: { path: string; reason: string }[] = [];
  const candidates = names.flatMap((name) => {
    const position = parseSnapshotFileName(name);
    return position === undefined ? [] : [{ name, position }];
  });
  candidates.sort((a, b) => b.position - a.position);
  for (const candidate of candidates) {
    // Older snapshots cannot help either: the records right after them are gone.
    if (candidate.position < log.firstAvailable - 1) break;
    const path = pathIn(input.dir, candidate.name);
    const read = await readSnapshotFile(input.fileSystem, path);
    if ('snapshot' in read && read.snapshot.position === candidate.position) return { snapshot: read.snapshot, damaged };
    damaged.push({ path, reason: 'snapshot' in read ? `it holds position ${read.snapshot.position}, its name ${candidate.position}` : read.damaged });
  }
  return { snapshot: undefined, damaged };
}
