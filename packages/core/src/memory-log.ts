import { InternalError, InvalidArgumentError, LogHeadMovedError } from './errors.js';
import { checkAppendBatch, checkReadRange, checkSnapshot } from './log-store-checks.js';
import type { LogOpenResult, LogStore } from './log-store.js';
import type { LogRecord, Snapshot } from './record.js';

export interface MemoryLogOptions {
  /** Fold this many records between automatic snapshots (kept in memory). Default: none. */
  readonly snapshotEvery?: number;
}

/**
 * The reference log store: records live in an array, so the log survives closing and
 * reopening a store within one process (a second `openStore` on the same `memoryLog()`
 * replays it), and several stores may share one memory log as concurrent writers.
 * Nothing is durable across processes. For tests, examples and benchmarks.
 *
 * As the reference it is the strictest store: besides the shared checks (log-store-checks.ts)
 * it refuses records that are not frozen (the caller hands them over for good, and a store
 * that keeps them must be able to trust that) and a requestId that any record of the log
 * carries already (I7: a database store has a unique index for that).
 */
export function memoryLog(options: MemoryLogOptions = {}): LogStore {
  return new MemoryLog(options.snapshotEvery);
}

class MemoryLog implements LogStore {
  readonly name = 'memory';
  // Several stores in one process may share one memory log.
  readonly multiWriter = true;
  readonly snapshotEvery: number | undefined;
  private readonly records: LogRecord[] = [];
  private readonly requestIds = new Set<string>();
  private readonly listeners = new Set<(head: number) => void>();
  private snapshot: Snapshot | undefined;

  constructor(snapshotEvery: number | undefined) {
    if (snapshotEvery !== undefined && (!Number.isSafeInteger(snapshotEvery) || snapshotEvery < 1)) {
      throw new InvalidArgumentError('snapshotEvery', 'must be a positive integer');
    }
    this.snapshotEvery = snapshotEvery;
  }

  async open(): Promise<LogOpenResult> {
    return { head: this.records.length, snapshot: this.snapshot };
  }

  async append(records: readonly LogRecord[]): Promise<void> {
    const first = checkAppendBatch(records, this.checkOwned);
    const head = this.records.length;
    if (first !== head + 1) throw new LogHeadMovedError({ expected: first, actual: head });
    for (const record of records) {
      this.records.push(record);
      if (record.requestId !== undefined) this.requestIds.add(record.requestId);
    }
    const newHead = this.records.length;
    for (const listener of this.listeners) listener(newHead);
  }

  /** The reference's own checks of each appended record, beyond the shared ones. */
  private readonly checkOwned = (record: LogRecord): void => {
    if (!Object.isFrozen(record)) throw new InternalError(`record ${record.position} is not frozen; append takes frozen records`);
    if (record.requestId !== undefined && this.requestIds.has(record.requestId)) {
      throw new InternalError(`requestId ${record.requestId} is in the log already`);
    }
  };

  async read(from: number, limit: number): Promise<LogRecord[]> {
    checkReadRange(from, limit);
    return this.records.slice(from - 1, from - 1 + limit);
  }

  async head(): Promise<number> {
    return this.records.length;
  }

  subscribe(listener: (head: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async writeSnapshot(snapshot: Snapshot): Promise<void> {
    checkSnapshot(snapshot, this.records.length);
    this.snapshot = snapshot;
  }

  async close(): Promise<void> {
    // Nothing to release: the records stay so that the log can be reopened.
  }
}
