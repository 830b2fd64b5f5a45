import { LogStoreError, type LogOpenResult, type LogRecord, type LogStore, type Snapshot } from '@ordo/core';
import type { Prng } from './prng.js';

/** Probabilities per call; each is checked in turn with one draw. */
export interface FaultRates {
  /** append throws before writing anything. */
  readonly appendFails: number;
  /** append writes the batch, then throws: the acknowledgement is lost. */
  readonly ackLost: number;
  /** append writes only a prefix of the batch (maybe none), then throws, as a crash mid-write would leave it. */
  readonly torn: number;
  /** append waits a while (other writers move on meanwhile), then works. */
  readonly slow: number;
  /** read or head throws. */
  readonly readFails: number;
}

export const noFaults: FaultRates = { appendFails: 0, ackLost: 0, torn: 0, slow: 0, readFails: 0 };

export interface FaultCounts {
  appendFails: number;
  ackLost: number;
  torn: number;
  slow: number;
  readFails: number;
}

/** Longest wait of a slow append, in yields to the event loop's microtask queue. */
const slowYieldsMax = 50;

/**
 * Wraps a log store and injects faults chosen by a seeded generator. Waits are microtask
 * yields, not timers, so a simulation stays deterministic. After a failed append the wrapper
 * refuses every further append until `reopen()` (a store that cannot tell what it wrote must
 * be restarted), which is how the file and PostgreSQL stores behave too.
 */
export class FaultyLog implements LogStore {
  readonly name: string;
  readonly multiWriter: boolean;
  readonly counts: FaultCounts = { appendFails: 0, ackLost: 0, torn: 0, slow: 0, readFails: 0 };
  private broken = false;

  constructor(
    private readonly inner: LogStore,
    private readonly prng: Prng,
    private readonly rates: FaultRates,
  ) {
    this.name = `faulty ${inner.name}`;
    this.multiWriter = inner.multiWriter;
  }

  /** Clears the broken state, as a process restart would. */
  reopen(): void {
    this.broken = false;
  }

  open(): Promise<LogOpenResult> {
    return this.inner.open();
  }

  async append(records: readonly LogRecord[]): Promise<void> {
    if (this.broken) throw this.failure('refusing appends after a failed one; reopen first');
    const draw = this.prng.float();
    let threshold = this.rates.appendFails;
    if (draw < threshold) return this.breakWith('appendFails', 'injected: append failed');
    threshold += this.rates.ackLost;
    if (draw < threshold) {
      await this.inner.append(records);
      return this.breakWith('ackLost', 'injected: acknowledgement lost');
    }
    threshold += this.rates.torn;
    if (draw < threshold) {
      const kept = this.prng.int(records.length);
      if (kept > 0) await this.inner.append(records.slice(0, kept));
      return this.breakWith('torn', `injected: torn write kept ${kept} of ${records.length} records`);
    }
    threshold += this.rates.slow;
    if (draw < threshold) {
      this.counts.slow += 1;
      await yieldMicrotasks(this.prng.between(1, slowYieldsMax));
    }
    return this.inner.append(records);
  }

  read(from: number, limit: number): Promise<LogRecord[]> {
    if (this.prng.chance(this.rates.readFails)) return this.readFailure();
    return this.inner.read(from, limit);
  }

  head(): Promise<number> {
    if (this.prng.chance(this.rates.readFails)) return this.readFailure();
    return this.inner.head();
  }

  subscribe(listener: (head: number) => void): () => void {
    return this.inner.subscribe(listener);
  }

  get snapshotEvery(): number | undefined {
    return this.inner.snapshotEvery;
  }

  writeSnapshot(snapshot: Snapshot): Promise<void> {
    if (this.inner.writeSnapshot === undefined) return Promise.reject(this.failure('no snapshots'));
    return this.inner.writeSnapshot(snapshot);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private breakWith(kind: 'appendFails' | 'ackLost' | 'torn', message: string): never {
    this.counts[kind] += 1;
    this.broken = true;
    throw this.failure(message);
  }

  private async readFailure(): Promise<never> {
    this.counts.readFails += 1;
    throw this.failure('injected: read failed');
  }

  private failure(message: string): LogStoreError {
    return new LogStoreError({ store: this.name, message });
  }
}

export async function yieldMicrotasks(count: number): Promise<void> {
  for (let index = 0; index < count; index += 1) await Promise.resolve();
}
