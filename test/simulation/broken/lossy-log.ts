import { memoryLog, type LogOpenResult, type LogRecord, type LogStore } from '@ordo/core';

/**
 * BROKEN ON PURPOSE (test folder only). A memory log that loses its last acknowledged record
 * when it "crashes", like a file store that acknowledged before its fsync. `crash()` is
 * called where a process would be killed and restarted.
 */
export class LossyLog implements LogStore {
  readonly name = 'lossy (broken)';
  readonly multiWriter = true;
  private inner: LogStore = memoryLog();
  private readonly listeners = new Set<(head: number) => void>();
  lost = 0;

  /** Replaces the log by a copy without its last record. */
  async crash(): Promise<void> {
    const head = await this.inner.head();
    if (head === 0) return;
    const kept = await this.inner.read(1, head - 1 || 1);
    const survivor = memoryLog();
    if (head > 1) await survivor.append(kept.slice(0, head - 1));
    this.inner = survivor;
    this.lost += 1;
  }

  open(): Promise<LogOpenResult> {
    return this.inner.open();
  }

  async append(records: readonly LogRecord[]): Promise<void> {
    await this.inner.append(records);
    const head = await this.inner.head();
    for (const listener of this.listeners) listener(head);
  }

  read(from: number, limit: number): Promise<LogRecord[]> {
    return this.inner.read(from, limit);
  }

  head(): Promise<number> {
    return this.inner.head();
  }

  subscribe(listener: (head: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
