import { LogStoreError, RelayFencedError, type RelayedOutcome } from '@ordo/core';
import type { FollowerLink, PendingForward } from './relay-follower-link.js';
import type { RelayTxStatus } from './relay-messages.js';

export interface OrphanedForwardsOptions {
  readonly store: string;
  /** How long a forward may wait to be settled after its link broke, in ms. */
  readonly settleMsMax: number;
  readonly onError: (error: Error) => void;
}

interface Orphan {
  readonly pending: PendingForward;
  readonly timer: ReturnType<typeof setTimeout>;
}

/**
 * Forwards whose link broke before their answer came, all sent to the leader of one term.
 * Each settles one way: by that leader's status answer over a new link; fenced, once the
 * election shows the term is over (each commit is in the log or never will be: the store
 * reads it); or 'unknown' when neither came within `settleMsMax` of the break.
 */
export class OrphanedForwards {
  private readonly orphans = new Set<Orphan>();
  private leaderTerm: string | undefined;
  private asking = false;

  constructor(private readonly options: OrphanedForwardsOptions) {}

  get size(): number {
    return this.orphans.size;
  }

  /** The term of the leader the orphans went to; undefined when there are none. */
  get term(): string | undefined {
    return this.orphans.size === 0 ? undefined : this.leaderTerm;
  }

  /** Takes the forwards of a link to the leader of `term` that broke. */
  adopt(term: string, forwards: readonly PendingForward[]): void {
    if (forwards.length === 0) return;
    if (this.term !== undefined && this.term !== term) {
      // Only a link to the same term is made while orphans wait: this would be a bug, so settle honestly.
      this.settleAll(() => this.unknown(`its link to the relay leader of term ${this.leaderTerm} broke and a link to term ${term} broke too`));
    }
    this.leaderTerm = term;
    for (const pending of forwards) {
      const orphan: Orphan = {
        pending,
        timer: setTimeout(() => this.settle(orphan, () => this.unknown(`the relay link broke and neither the leader nor the election settled it within settleMsMax (${this.options.settleMsMax} ms)`)), this.options.settleMsMax),
      };
      // Not unref'd: a caller waits on it, and it ends within settleMsMax.
      this.orphans.add(orphan);
    }
  }

  /** The election shows the term is over: each forward is in the log or never will be. */
  fenced(): void {
    this.settleAll((pending) => new RelayFencedError({ store: this.options.store, txIds: pending.commits.map((commit) => commit.txId) }));
  }

  /** Rejects every orphan with the error `reason` makes for it. */
  settleAll(reason: (pending: PendingForward) => Error): void {
    for (const orphan of [...this.orphans]) this.settle(orphan, () => reason(orphan.pending));
  }

  /** Asks the leader, over a new link under the same term, what became of the orphans. */
  async ask(link: FollowerLink): Promise<void> {
    if (this.asking || this.term === undefined || link.leader.term !== this.term) return;
    this.asking = true;
    try {
      const asked = [...this.orphans];
      const statuses = await link.status(asked.flatMap((orphan) => orphan.pending.commits.map((commit) => commit.txId)), this.options.settleMsMax);
      let offset = 0;
      for (const orphan of asked) {
        const own = statuses.slice(offset, offset + orphan.pending.commits.length);
        offset += orphan.pending.commits.length;
        this.answer(orphan, own);
      }
    } catch (error) {
      // The new link broke too: the relay tries again while the term lasts.
      this.options.onError(error as Error);
    } finally {
      this.asking = false;
    }
  }

  private answer(orphan: Orphan, statuses: readonly RelayTxStatus[]): void {
    if (!this.orphans.has(orphan)) return;
    const states = new Set(statuses.map((status) => status.state));
    if (states.size === 1 && states.has('decided')) {
      clearTimeout(orphan.timer);
      this.orphans.delete(orphan);
      orphan.pending.resolve(statuses.map((status) => (status as { outcome: RelayedOutcome }).outcome));
      return;
    }
    if (states.size === 1 && states.has('unseen')) return this.settle(orphan, () => this.notWritten('the forwarded commits never reached the relay leader'));
    const failure = statuses.find((status) => status.state === 'failed');
    if (states.size === 1 && failure?.state === 'failed') {
      const outcome = statuses.every((status) => status.state === 'failed' && status.failure.outcome === 'not-written') ? 'not-written' : 'unknown';
      return this.settle(orphan, () => new LogStoreError({ store: this.options.store, message: `the relay leader failed the batch (${failure.failure.code}): ${failure.failure.message}`, outcome }));
    }
    this.settle(orphan, () => this.unknown(`the relay leader cannot tell what became of the forwarded commits (${[...states].join(', ')})`));
  }

  private settle(orphan: Orphan, error: () => Error): void {
    if (!this.orphans.delete(orphan)) return;
    clearTimeout(orphan.timer);
    orphan.pending.reject(error());
  }

  private unknown(message: string): LogStoreError {
    return new LogStoreError({ store: this.options.store, message, outcome: 'unknown' });
  }

  private notWritten(message: string): LogStoreError {
    return new LogStoreError({ store: this.options.store, message, outcome: 'not-written' });
  }
}
