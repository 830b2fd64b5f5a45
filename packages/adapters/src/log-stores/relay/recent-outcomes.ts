import type { LogRecord } from '@ordo/core';
import type { RelayFailure, RelayTxStatus } from './relay-messages.js';

export interface RecentOutcomesOptions {
  /** How long an outcome stays, in ms: longer than any follower settles a broken link. */
  readonly keepMs: number;
  /** The most outcomes held; past it the oldest go, and misses are no longer 'unseen'. */
  readonly entriesMax: number;
  readonly now?: () => number;
}

interface Entry {
  readonly at: number;
  readonly status: Exclude<RelayTxStatus, { state: 'unseen' | 'forgotten' }>;
  /** The record of a committed transaction, which the follower may not have received. */
  readonly record: LogRecord | undefined;
}

/**
 * The leader's memory of what it decided for forwarded transactions, by txId, so that a
 * follower whose link broke before the answer arrived can ask again.
 *
 * A txId it does not hold counts as 'unseen' only while the memory is complete: as long as
 * nothing was dropped for room within `keepMs`. Entries older than `keepMs` go unasked: a
 * follower asks within its settle time (`settleMsMax`) of the break, and a link silent for
 * longer than a few beats counts as broken, so no question comes that late.
 */
export class RecentOutcomes {
  private readonly entries = new Map<string, Entry>();
  /** When the newest entry dropped for room was decided: until keepMs after it, misses are 'forgotten'. */
  private droppedAt = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;

  constructor(private readonly options: RecentOutcomesOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  decided(txId: string, status: Entry['status'], record: LogRecord | undefined): void {
    const now = this.now();
    this.expire(now);
    this.entries.delete(txId);
    this.entries.set(txId, { at: now, status, record });
    while (this.entries.size > this.options.entriesMax) {
      const oldest = this.entries.entries().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest[0]);
      this.droppedAt = Math.max(this.droppedAt, oldest[1].at);
    }
  }

  failed(txId: string, failure: RelayFailure): void {
    this.decided(txId, { state: 'failed', failure }, undefined);
  }

  /** What is known of `txId`, and the record to send with it when it committed. */
  lookup(txId: string): { status: RelayTxStatus; record: LogRecord | undefined } {
    const now = this.now();
    this.expire(now);
    const entry = this.entries.get(txId);
    if (entry !== undefined) return { status: entry.status, record: entry.record };
    const complete = now - this.droppedAt > this.options.keepMs;
    return { status: complete ? { state: 'unseen' } : { state: 'forgotten' }, record: undefined };
  }

  private expire(now: number): void {
    for (const [txId, entry] of this.entries) {
      if (now - entry.at <= this.options.keepMs) break;
      this.entries.delete(txId);
    }
  }
}
