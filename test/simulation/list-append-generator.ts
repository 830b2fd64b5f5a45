import type { MicroOp } from '../history/list-append.js';
import type { Prng } from './prng.js';

export interface ListAppendGeneratorOptions {
  /** Keys in use at once; a small key space makes conflicts (and anomalies) likely. */
  readonly keys: number;
  /** Micro-ops per transaction, at most. */
  readonly opsPerTxnMax: number;
  /** A key retires after this many appends, so that lists (and the checker's work) stay short. */
  readonly appendsPerKeyMax: number;
  /** Chance that a transaction only reads (read-only transactions take a different path in the core). */
  readonly readOnlyChance?: number;
}

/**
 * Random list-append transactions, as Elle generates them: reads and appends over a small,
 * slowly rotating key space, with values unique per key.
 */
export class ListAppendGenerator {
  private nextValue = 1;
  private readonly active: { key: string; appends: number }[] = [];
  private nextKey = 0;

  constructor(private readonly options: ListAppendGeneratorOptions) {
    for (let index = 0; index < options.keys; index += 1) this.active.push(this.freshKey());
  }

  next(prng: Prng): MicroOp[] {
    const count = prng.between(1, this.options.opsPerTxnMax);
    const ops: MicroOp[] = [];
    const readOnly = prng.chance(this.options.readOnlyChance ?? 0);
    for (let index = 0; index < count; index += 1) {
      const slot = prng.int(this.active.length);
      const entry = this.active[slot]!;
      if (readOnly || prng.chance(0.5)) {
        ops.push({ f: 'read', key: entry.key });
        continue;
      }
      ops.push({ f: 'append', key: entry.key, value: this.nextValue++ });
      entry.appends += 1;
      if (entry.appends >= this.options.appendsPerKeyMax) this.active[slot] = this.freshKey();
    }
    return ops;
  }

  /** Every key handed out so far. */
  usedKeys(): string[] {
    return Array.from({ length: this.nextKey }, (_, index) => `k${index}`);
  }

  private freshKey(): { key: string; appends: number } {
    const key = `k${this.nextKey}`;
    this.nextKey += 1;
    return { key, appends: 0 };
  }
}
