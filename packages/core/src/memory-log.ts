import { InternalError, InvalidArgumentError, LogHeadMovedError } from './errors.js';
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
    const head = this.records.length;
    const first = records[0];
    if (first === undefined) throw new InternalError('append of an empty batch');
    if (first.position !== head + 1) throw new LogHeadMovedError({ expected: first.position, actual: head });
    records.forEach((record, index) => {
      if (record.position !== first.position + index) throw new InternalError('append batch positions are not consecutive');
    });
    for (const record of records) this.records.push(record);
    const newHead = this.records.length;
    for (const listener of this.listeners) listener(newHead);
  }

  async read(from: number, limit: number): Promise<LogRecord[]> {
    if (!Number.isSafeInteger(from) || from < 1) throw new InvalidArgumentError('from', 'must be an integer >= 1');
    if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidArgumentError('limit', 'must be an integer >= 1');
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
    if (snapshot.position > this.records.length) throw new InternalError('snapshot beyond the head');
    this.snapshot = snapshot;
  }

  async close(): Promise<void> {
    // Nothing to release: the records stay so that the log can be reopened.
  }
}
