import type { LogRecord } from '@ordo/core';

/**
 * The most recently appended records, so that live readers (watchers, a core catching up
 * after its own append) are answered from memory. The records are the frozen objects the
 * caller appended, which the store never changes, so handing them out again is safe.
 * Holds between `capacity` and twice `capacity` records; trimming in bulk keeps `add` cheap.
 */
export class RecordCache {
  private records: LogRecord[] = [];
  private firstPosition: number;

  constructor(
    private readonly capacity: number,
    nextPosition: number,
  ) {
    this.firstPosition = nextPosition;
  }

  /** Adds records that directly follow the cached ones. */
  add(records: readonly LogRecord[]): void {
    for (const record of records) this.records.push(record);
    const excess = this.records.length - this.capacity;
    if (excess > this.capacity) {
      this.records = this.records.slice(excess);
      this.firstPosition += excess;
    }
  }

  /** Up to `limit` records from `from`, or undefined when `from` is older than the cache. */
  take(from: number, limit: number): LogRecord[] | undefined {
    if (from < this.firstPosition || this.capacity === 0) return undefined;
    const start = from - this.firstPosition;
    return this.records.slice(start, start + limit);
  }
}
