import type { LogOpenResult, LogRecord, LogStore } from '@ordo/core';

/**
 * BROKEN ON PURPOSE (test folder only). Wraps a shared log but claims to be its only writer
 * and never notifies: a store over it answers read-only transactions from its own state
 * without checking the head, so it serves stale reads. Its writes still work (an append from
 * a stale head gets LOG_HEAD_MOVED and catches up), which is what makes the bug quiet.
 */
export class StaleLog implements LogStore {
  readonly name = 'stale (broken)';
  readonly multiWriter = false;

  constructor(private readonly inner: LogStore) {}

  open(): Promise<LogOpenResult> {
    return this.inner.open();
  }

  append(records: readonly LogRecord[]): Promise<void> {
    return this.inner.append(records);
  }

  read(from: number, limit: number): Promise<LogRecord[]> {
    return this.inner.read(from, limit);
  }

  head(): Promise<number> {
    return this.inner.head();
  }

  subscribe(_listener: (head: number) => void): () => void {
    return () => undefined;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
