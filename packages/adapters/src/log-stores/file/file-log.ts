import { dirname, resolve } from 'node:path';
import {
  checkAppendBatch,
  checkReadRange,
  checkSnapshot,
  HistoryUnavailableError,
  InternalError,
  InvalidArgumentError,
  isOrdoError,
  LogHeadMovedError,
  LogReadOnlyError,
  LogStoreError,
  StoreClosedError,
  type LogOpenResult,
  type LogRecord,
  type LogStore,
  type Snapshot,
} from '@ordo/core';
import { acquireDirLock, type DirLock } from './dir-lock.js';
import { pathIn, segmentFileName } from './dir-layout.js';
import { checkDirectoryPermissions, warnOnConsole, type FileLogWarning } from './file-log-warning.js';
import { nodeFileSystem, type FileLogFileSystem } from './file-system.js';
import { RecordCache } from './record-cache.js';
import { recoverDir, type FileLogRecoveryEvent } from './recover-dir.js';
import type { Segment } from './segment.js';
import { SegmentReader } from './segment-reader.js';
import { extendSegment, scanSegment } from './segment-scanner.js';
import { SegmentWriter, type Durability } from './segment-writer.js';
import { SerialQueue } from './serial-queue.js';
import { SnapshotKeeper } from './snapshot-keeper.js';

export interface FileLogOptions {
  /** The log directory; created when missing (unless read-only). */
  readonly dir: string;
  /**
   * 'fsync' (default): an append is acknowledged only after fdatasync of its bytes.
   * 'none': no fsync at all. UNSAFE: a crash of the machine (not only of the process) may
   * lose acknowledged records or leave a log that refuses to open. For tests and throwaway data.
   */
  readonly durability?: Durability;
  /** Records between automatic snapshots (the core takes them). Default 100,000. */
  readonly snapshotEvery?: number;
  /** Snapshot files kept; the older ones are fallbacks for a damaged newest one. Default 2, at least 1. */
  readonly snapshotsKept?: number;
  /**
   * Remove segments whose records all lie behind the oldest kept snapshot. Default false:
   * the whole history stays readable. When true, reading pruned records throws `HistoryUnavailableError`.
   */
  readonly pruneSegments?: boolean;
  /** A segment file rolls before it grows past this. Default 64 MiB. */
  readonly segmentBytesMax?: number;
  /**
   * Open without the writer's lock, for inspection while another process writes: `head()`
   * and reads past the known head look for records the writer added since. A torn tail is
   * ignored, not cut. `append` and `writeSnapshot` throw `LogReadOnlyError`.
   */
  readonly readOnly?: boolean;
  /**
   * Bytes of zeros written ahead of the end of the active segment (with durability 'fsync'),
   * so that commits overwrite allocated blocks and their fdatasync skips the file-size
   * update. Default 4 MiB; 0 turns it off.
   */
  readonly preallocateBytes?: number;
  /** Recent records kept in memory for live readers. Default 10,000. */
  readonly cacheRecordsMax?: number;
  /** The file system to use; tests inject failures through it. Default: the real one. */
  readonly fileSystem?: FileLogFileSystem;
  /**
   * Told, during `open()`, of each change recovery made to the directory: a torn tail cut, a
   * damaged snapshot set aside, an unfinished snapshot removed (see `FileLogRecoveryEvent`). Called
   * after the change is made; an exception it throws fails the open. Default: none.
   */
  readonly onRecovery?: (event: FileLogRecoveryEvent) => void;
  /**
   * Told, during `open()`, of what an operator should fix and Ordo leaves alone: today, an
   * existing log directory that other users may read (a new one is made 0700, its files
   * 0600). Default: the warning's one-line message on `console.warn`.
   */
  readonly onWarning?: (warning: FileLogWarning) => void;
}

const defaults = {
  snapshotEvery: 100_000,
  snapshotsKept: 2,
  segmentBytesMax: 64 * 1024 * 1024,
  cacheRecordsMax: 10_000,
  preallocateBytes: 4 * 1024 * 1024,
  // Large sequential reads: one syscall moves thousands of small records.
  readChunkBytes: 1024 * 1024,
  scanChunkBytes: 8 * 1024 * 1024,
  // Checked bytes the scan at open keeps for the core's first reads (the records after the
  // snapshot), so that they are neither read nor checked twice.
  verifiedBytesMax: 64 * 1024 * 1024,
};
const segmentBytesMin = 4096;
// A read-only log picks up at most this many new segments per look; the next look continues.
const followSegmentsMax = 64;

/**
 * The embedded, crash-safe log store: append-only segment files of checksummed frames, one
 * write and one fdatasync per appended batch, snapshots, torn-tail recovery, refusal of damage
 * before the tail, and a lock so that one process at a time writes a directory.
 */
export function fileLog(options: FileLogOptions): LogStore {
  return new FileLog(checkOptions(options));
}

type CheckedOptions = Required<Omit<FileLogOptions, 'fileSystem' | 'onRecovery' | 'onWarning'>> & {
  readonly fileSystem: FileLogFileSystem;
  readonly onRecovery: ((event: FileLogRecoveryEvent) => void) | undefined;
  readonly onWarning: (warning: FileLogWarning) => void;
};

function checkOptions(options: FileLogOptions): CheckedOptions {
  const positive = (name: string, value: number, minimum: number): number => {
    if (!Number.isSafeInteger(value) || value < minimum) throw new InvalidArgumentError(name, `must be an integer >= ${minimum}`);
    return value;
  };
  if (typeof options.dir !== 'string' || options.dir === '') throw new InvalidArgumentError('dir', 'must be a non-empty path');
  if (options.onRecovery !== undefined && typeof options.onRecovery !== 'function') throw new InvalidArgumentError('onRecovery', 'must be a function');
  if (options.onWarning !== undefined && typeof options.onWarning !== 'function') throw new InvalidArgumentError('onWarning', 'must be a function');
  const durability = options.durability ?? 'fsync';
  if (durability !== 'fsync' && durability !== 'none') throw new InvalidArgumentError('durability', "must be 'fsync' or 'none'");
  return {
    dir: options.dir,
    durability,
    snapshotEvery: positive('snapshotEvery', options.snapshotEvery ?? defaults.snapshotEvery, 1),
    snapshotsKept: positive('snapshotsKept', options.snapshotsKept ?? defaults.snapshotsKept, 1),
    pruneSegments: options.pruneSegments ?? false,
    segmentBytesMax: positive('segmentBytesMax', options.segmentBytesMax ?? defaults.segmentBytesMax, segmentBytesMin),
    readOnly: options.readOnly ?? false,
    cacheRecordsMax: positive('cacheRecordsMax', options.cacheRecordsMax ?? defaults.cacheRecordsMax, 0),
    preallocateBytes: positive('preallocateBytes', options.preallocateBytes ?? defaults.preallocateBytes, 0),
    fileSystem: options.fileSystem ?? nodeFileSystem,
    onRecovery: options.onRecovery,
    onWarning: options.onWarning ?? warnOnConsole,
  };
}

type Phase = 'new' | 'opening' | 'open' | 'closed';

class FileLog implements LogStore {
  readonly name = 'file';
  // One process writes a directory (the lock enforces it), so the head never moves under us.
  readonly multiWriter = false;
  readonly snapshotEvery: number;
  private phase: Phase = 'new';
  private headPosition = 0;
  private segments: Segment[] = [];
  private lock: DirLock | undefined;
  private writer: SegmentWriter | undefined;
  private readonly reader: SegmentReader;
  private cache: RecordCache;
  private readonly snapshots: SnapshotKeeper;
  /** Set when an append failed with an unknown outcome: no further appends until reopened. */
  private failure: unknown;
  private readonly appends = new SerialQueue();
  private readonly reads = new SerialQueue();
  private readonly snapshotWrites = new SerialQueue();

  constructor(private readonly options: CheckedOptions) {
    this.snapshotEvery = options.snapshotEvery;
    this.reader = new SegmentReader(options.fileSystem, defaults.readChunkBytes);
    this.cache = new RecordCache(options.cacheRecordsMax, 1);
    const durable = options.durability === 'fsync';
    this.snapshots = new SnapshotKeeper({ fileSystem: options.fileSystem, dir: options.dir, durable, snapshotsKept: options.snapshotsKept });
  }

  async open(): Promise<LogOpenResult> {
    if (this.phase !== 'new') throw new InternalError('open() of a file log is called once');
    this.phase = 'opening';
    const { fileSystem, dir, readOnly, durability } = this.options;
    try {
      if (!readOnly) {
        await fileSystem.makeDirectory(dir);
        // A directory made just now is lost with everything in it unless its parent's entry is durable.
        if (durability === 'fsync') await fileSystem.syncDirectory(dirname(resolve(dir)));
        this.lock = await acquireDirLock(fileSystem, dir);
      }
      await checkDirectoryPermissions(fileSystem, dir, this.options.onWarning);
      const recovered = await recoverDir({
        fileSystem,
        dir,
        writable: !readOnly,
        durable: durability === 'fsync',
        scanChunkBytes: defaults.scanChunkBytes,
        verifiedBytesMax: defaults.verifiedBytesMax,
        onRecovery: this.options.onRecovery,
      });
      this.segments = recovered.segments;
      this.reader.trust(recovered.verified);
      this.headPosition = recovered.head;
      // A read-only log learns of records from the files, never from its own appends: no cache.
      this.cache = new RecordCache(readOnly ? 0 : this.options.cacheRecordsMax, recovered.head + 1);
      const preallocateBytes = durability === 'fsync' ? this.options.preallocateBytes : 0;
      this.writer = new SegmentWriter({ fileSystem, dir, durability, segmentBytesMax: this.options.segmentBytesMax, preallocateBytes }, this.segments.at(-1));
      this.phase = 'open';
      return { head: recovered.head, snapshot: recovered.snapshot };
    } catch (error) {
      this.phase = 'closed';
      await this.lock?.release().catch(() => undefined);
      throw storeError(error, `cannot open ${dir}`);
    }
  }

  async append(records: readonly LogRecord[]): Promise<void> {
    this.checkWritable();
    const first = checkAppendBatch(records);
    // The core reads what it needs before its first append: the bytes kept for it can go.
    this.reader.forgetTrusted();
    await this.appends.run(async () => {
      this.checkWritable();
      if (first !== this.headPosition + 1) throw new LogHeadMovedError({ expected: first, actual: this.headPosition });
      await this.writeBatch(records, first);
    });
  }

  private async writeBatch(records: readonly LogRecord[], firstPosition: number): Promise<void> {
    const writer = this.writer;
    if (writer === undefined) throw new InternalError('file log writer missing after open');
    // Encoding touches no file: a record that is too large or not JSON is refused, the log unharmed.
    const encoded = writer.encode(records, firstPosition);
    let created: Segment | undefined;
    try {
      created = await writer.append(encoded, firstPosition);
    } catch (error) {
      this.failure = error;
      throw storeError(error, `append of records ${firstPosition}..${firstPosition + records.length - 1} failed; the log refuses writes until reopened`);
    }
    if (created !== undefined) this.segments.push(created);
    this.headPosition = firstPosition + records.length - 1;
    this.cache.add(records);
    // Queued behind this append and before the next one, so zeros never overlap a frame; and
    // skipped after a failed append, whose bytes are left as they are for the next open to judge.
    if (writer.wantsRoom()) void this.appends.run(async () => (this.failure === undefined ? writer.makeRoom() : undefined));
  }

  private checkWritable(): void {
    if (this.options.readOnly) throw new LogReadOnlyError('file');
    if (this.phase === 'closed') throw new StoreClosedError();
    if (this.phase !== 'open') throw new InternalError('append before open() of the file log');
    if (this.failure !== undefined) {
      throw new LogStoreError({ store: 'file', message: 'an earlier write failed; reopen the log to continue', cause: this.failure });
    }
  }

  async read(from: number, limit: number): Promise<LogRecord[]> {
    checkReadRange(from, limit);
    if (this.phase === 'closed') throw new StoreClosedError();
    if (this.phase !== 'open') throw new InternalError('read before open() of the file log');
    if (from > this.headPosition && this.options.readOnly) await this.reads.run(() => this.followWriter());
    const head = this.headPosition;
    if (from > head) return [];
    const firstAvailable = this.segments[0]?.firstPosition ?? head + 1;
    if (from < firstAvailable) throw new HistoryUnavailableError({ requested: from, firstAvailable });
    const cached = this.cache.take(from, limit);
    if (cached !== undefined) return cached;
    const count = Math.min(limit, head - from + 1);
    return this.reads.run(() => this.readFromDisk(from, count)).catch((error: unknown) => {
      throw storeError(error, `read of records from ${from} failed`);
    });
  }

  private async readFromDisk(from: number, count: number): Promise<LogRecord[]> {
    const records: LogRecord[] = [];
    let index = segmentIndexOf(this.segments, from);
    if (index < 0) {
      const firstAvailable = this.segments[0]?.firstPosition ?? this.headPosition + 1;
      throw new HistoryUnavailableError({ requested: from, firstAvailable });
    }
    for (let segment = this.segments[index]; segment !== undefined && records.length < count; segment = this.segments[++index]) {
      await this.reader.read(segment, from + records.length, count - records.length, records);
    }
    return records;
  }

  async head(): Promise<number> {
    if (this.options.readOnly && this.phase === 'open') await this.reads.run(() => this.followWriter());
    return this.headPosition;
  }

  /**
   * A read-only log follows the process that writes the directory: it notes the frames added
   * to the last segment since it looked, and the segments started after it. A frame still
   * being written is simply not seen yet.
   */
  private async followWriter(): Promise<void> {
    const { fileSystem, dir } = this.options;
    const last = this.segments.at(-1);
    if (last !== undefined) await extendSegment(fileSystem, last, defaults.scanChunkBytes);
    for (let added = 0; added < followSegmentsMax; added += 1) {
      const firstPosition = (this.segments.at(-1)?.lastPosition ?? this.headPosition) + 1;
      const name = segmentFileName(firstPosition);
      const scanned = await scanSegment({ fileSystem, name, path: pathIn(dir, name), firstPosition, isLast: true, chunkBytes: defaults.scanChunkBytes }).catch(
        (error: unknown) => {
          if (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT') return undefined;
          throw error;
        },
      );
      if (scanned === undefined || scanned.segment.lastPosition < firstPosition) break;
      this.segments.push(scanned.segment);
    }
    this.headPosition = this.segments.at(-1)?.lastPosition ?? this.headPosition;
  }

  subscribe(_listener: (head: number) => void): () => void {
    // Only this process appends to the directory, and it knows its own appends.
    return () => undefined;
  }

  async writeSnapshot(snapshot: Snapshot): Promise<void> {
    this.checkWritable();
    checkSnapshot(snapshot, this.headPosition);
    await this.snapshotWrites.run(async () => {
      let oldestKept: number;
      try {
        oldestKept = await this.snapshots.write(snapshot);
      } catch (error) {
        throw storeError(error, `snapshot at ${snapshot.position} failed`);
      }
      if (this.options.pruneSegments) await this.reads.run(() => this.prune(oldestKept));
    });
  }

  /** Removes whole segments behind `position`, never the last one (it is the one being written). */
  private async prune(position: number): Promise<void> {
    const removable = this.segments.slice(0, -1).filter((segment) => segment.lastPosition <= position);
    if (removable.length === 0) return;
    this.segments = this.segments.slice(removable.length);
    await this.reader.close();
    try {
      for (const segment of removable) await this.options.fileSystem.remove(segment.path);
      if (this.options.durability === 'fsync') await this.options.fileSystem.syncDirectory(this.options.dir);
    } catch (error) {
      throw storeError(error, 'removing pruned segments failed');
    }
  }

  async close(): Promise<void> {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    await Promise.all([this.appends.idle(), this.snapshotWrites.idle()]);
    await this.reads.idle();
    try {
      await this.writer?.close();
      await this.reader.close();
    } finally {
      await this.lock?.release();
    }
  }
}

/** The index of the segment holding `position`, or -1 when it is before the first one. */
function segmentIndexOf(segments: readonly Segment[], position: number): number {
  let low = 0;
  let high = segments.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const segment = segments[middle];
    if (segment !== undefined && segment.firstPosition <= position) {
      found = middle;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

function storeError(error: unknown, message: string): Error {
  if (isOrdoError(error)) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new LogStoreError({ store: 'file', message: `${message}: ${detail}`, cause: error });
}
