import { InvalidArgumentError } from './errors.js';
import type { LogRecord } from './record.js';

export interface WatchOptions {
  /** First position to deliver (inclusive). Default: the record after the current head. */
  readonly from?: number;
  /** Deliver only records with at least one change of these kinds (whole records, unfiltered). */
  readonly kinds?: readonly string[];
}

/** What a watcher needs from its store. */
export interface WatchSource {
  /** The position folded into the store's state. A watcher never runs ahead of it. */
  readonly position: number;
  /** Reads folded records from the log store. */
  read(from: number, limit: number): Promise<LogRecord[]>;
  detach(watcher: Watcher): void;
}

/** Most records a watcher reads from the log store at once while catching up. */
export const watchReadRecordsMax = 1024;

/**
 * One reader of the log (I9): every record once, in order, without gaps. It catches up by
 * reading the log store and then takes records straight from the store's folds while it
 * keeps up; a watcher that falls behind reads again, so its buffer stays bounded.
 */
export class Watcher implements AsyncIterableIterator<LogRecord> {
  private cursor: number;
  private buffer: LogRecord[] = [];
  private waiting: (() => void) | undefined;
  private ended = false;
  private readonly kinds: ReadonlySet<string> | undefined;

  constructor(
    private readonly source: WatchSource,
    options: WatchOptions,
  ) {
    const from = options.from ?? source.position + 1;
    if (!Number.isSafeInteger(from) || from < 1) throw new InvalidArgumentError('from', 'must be an integer >= 1');
    this.cursor = from;
    this.kinds = options.kinds === undefined ? undefined : new Set(options.kinds);
  }

  /** Called by the store after it folded `records`. */
  offer(records: readonly LogRecord[]): void {
    const first = records[0];
    if (this.waiting === undefined || first === undefined) return;
    if (first.position === this.cursor) this.accept(records);
    this.wake();
  }

  /** Called when the store closes: the iteration ends after what is buffered. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  async next(): Promise<IteratorResult<LogRecord>> {
    for (;;) {
      const record = this.buffer.shift();
      if (record !== undefined) return { value: record, done: false };
      if (this.ended) return { value: undefined, done: true };
      const available = this.source.position - this.cursor + 1;
      if (available > 0) {
        this.accept(await this.source.read(this.cursor, Math.min(available, watchReadRecordsMax)));
      } else {
        await new Promise<void>((resolve) => (this.waiting = resolve));
      }
    }
  }

  async return(): Promise<IteratorResult<LogRecord>> {
    this.ended = true;
    this.buffer = [];
    this.source.detach(this);
    this.wake();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private accept(records: readonly LogRecord[]): void {
    for (const record of records) {
      if (record.position !== this.cursor) continue;
      this.cursor += 1;
      if (this.kinds === undefined || record.changes.some((change) => this.kinds?.has(change.kind))) this.buffer.push(record);
    }
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}
