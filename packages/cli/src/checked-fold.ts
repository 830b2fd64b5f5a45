import { openStore, type LogOpenResult, type LogRecord, type LogStore, type Snapshot, type StateDump, type Store } from '@ordo/core';
import { snapshotOnlyLog } from './inspection-log.js';
import { stateDifference } from './state-difference.js';

/**
 * Folds records as they are written into a new log, so that `import` and `copy` refuse a
 * history that does not fold (an update that skips a version, a requestId twice) and a
 * snapshot that is not the state at its position. Only the batch being folded is held.
 */
export class CheckedFold {
  private readonly feed = new FeedLog();
  private store: Store | undefined;
  private readonly dumps = new Map<number, StateDump>();

  /** Positions at which to keep the state, for `checkSnapshot`. */
  constructor(private readonly keepAt: ReadonlySet<number>) {}

  async fold(records: readonly LogRecord[]): Promise<void> {
    this.store ??= await openStore({ entities: [], log: this.feed });
    this.feed.push(records);
    await this.store.sync();
    this.feed.clear();
    if (this.keepAt.has(this.store.position)) this.dumps.set(this.store.position, this.store.dump());
  }

  /** Why `snapshot` is not the folded state at its position, or undefined when it is. */
  async checkSnapshot(snapshot: Snapshot): Promise<string | undefined> {
    const folded = snapshot.position === 0 ? undefined : this.dumps.get(snapshot.position);
    const fromSnapshot = await openStore({ entities: [], log: snapshotOnlyLog(snapshot) });
    const expected = fromSnapshot.dump();
    await fromSnapshot.close();
    if (folded === undefined) return snapshot.position === 0 && expected.entities.length === 0 ? undefined : `no folded state kept at ${snapshot.position}`;
    return stateDifference(folded, expected);
  }

  async close(): Promise<void> {
    await this.store?.close();
  }
}

/** The records handed to `push`, served to the fold's store until `clear`. */
class FeedLog implements LogStore {
  readonly name = 'import';
  // So that the store asks for the head on every sync, as of a log others write.
  readonly multiWriter = true;
  private records: readonly LogRecord[] = [];
  private last = 0;

  async open(): Promise<LogOpenResult> {
    return { head: 0 };
  }

  push(records: readonly LogRecord[]): void {
    this.records = records;
    this.last = records.at(-1)?.position ?? this.last;
  }

  clear(): void {
    this.records = [];
  }

  append(): Promise<void> {
    return Promise.reject(new Error('the fold check appends nothing'));
  }

  async read(from: number, limit: number): Promise<LogRecord[]> {
    const start = this.records.findIndex((record) => record.position === from);
    return start < 0 ? [] : this.records.slice(start, start + limit);
  }

  async head(): Promise<number> {
    return this.last;
  }

  subscribe(): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {}
}
