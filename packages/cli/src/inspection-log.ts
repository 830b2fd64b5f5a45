import { LogCorruptError, LogReadOnlyError, type LogOpenResult, type LogRecord, type LogStore, type Snapshot } from '@ordo/core';

export interface InspectionLogOptions {
  /** Hide records after this position (and snapshots past it). Default: none hidden. */
  readonly upTo?: number;
  /** 'log': the log's own newest snapshot (default); 'none': replay from record 1; or a snapshot to start from. */
  readonly snapshot?: 'log' | 'none' | Snapshot;
  /** Told how many records each read returned, for progress. */
  readonly onRead?: (records: number) => void;
}

/**
 * A read-only view of a log for the commands that read: a store opened over it is the state
 * at `upTo`; it never writes and takes no automatic snapshots. `upTo` may be raised between
 * catch-ups (verify walks the log from snapshot to snapshot this way). Every read is checked
 * to be gapless, so a store that skipped a position is named as corrupt, not trusted.
 */
export class InspectionLog implements LogStore {
  readonly name: string;
  readonly multiWriter: boolean;
  readonly snapshotEvery = undefined;
  upTo: number;

  constructor(
    private readonly inner: LogStore,
    private readonly options: InspectionLogOptions = {},
  ) {
    this.name = inner.name;
    this.multiWriter = inner.multiWriter;
    this.upTo = options.upTo ?? Number.POSITIVE_INFINITY;
  }

  async open(): Promise<LogOpenResult> {
    const opened = await this.inner.open();
    const wanted = this.options.snapshot ?? 'log';
    const snapshot = wanted === 'none' ? undefined : wanted === 'log' ? opened.snapshot : wanted;
    const usable = snapshot !== undefined && snapshot.position <= this.upTo ? snapshot : undefined;
    return { head: Math.min(opened.head, this.upTo), snapshot: usable };
  }

  append(): Promise<void> {
    return Promise.reject(new LogReadOnlyError(this.inner.name));
  }

  async read(from: number, limit: number): Promise<LogRecord[]> {
    if (from > this.upTo) return [];
    const records = await this.inner.read(from, Math.min(limit, this.upTo - from + 1));
    records.forEach((record, index) => {
      if (record.position !== from + index) {
        throw new LogCorruptError({ store: this.inner.name, location: this.inner.name, position: from + index, reason: `read returned position ${record.position} where ${from + index} belongs` });
      }
    });
    this.options.onRead?.(records.length);
    return records;
  }

  async head(): Promise<number> {
    return Math.min(await this.inner.head(), this.upTo);
  }

  subscribe(listener: (head: number) => void): () => void {
    return this.inner.subscribe(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A log that is only a snapshot: a store opened over it is the snapshot's state. */
export function snapshotOnlyLog(snapshot: Snapshot): LogStore {
  return {
    name: 'snapshot',
    multiWriter: false,
    open: async () => ({ head: snapshot.position, snapshot }),
    append: () => Promise.reject(new LogReadOnlyError('snapshot')),
    read: async () => [],
    head: async () => snapshot.position,
    subscribe: () => () => undefined,
    close: async () => undefined,
  };
}
