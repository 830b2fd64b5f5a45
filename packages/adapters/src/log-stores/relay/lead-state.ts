import { randomUUID } from 'node:crypto';

/**
 * What a relay election knows of its own lead: the lead it holds (with whatever its log store
 * needs to fence appends by it, `T`), and who wants to hear when it is lost. Both elections
 * (PostgreSQL, etcd) keep theirs here, so that the rules are written once:
 *
 * - `lose` clears the lead synchronously, before it calls anyone: an append that starts after
 *   the loss was noticed sees no lead, and so is never sent as one of that lead's.
 * - Each listener is called once, at the first loss after it subscribed, and then dropped.
 * - Giving the lead up (`resign`) clears it without calling the listeners: nothing was lost
 *   that the caller did not choose to give up.
 */
export class LeadState<T> {
  private held: { readonly term: string; readonly fence: T } | undefined;
  private readonly listeners = new Set<() => void>();
  private claiming: Promise<string | undefined> | undefined;

  /** A new term: unique per lead, also for the same process and session. */
  static newTerm(): string {
    return randomUUID();
  }

  get term(): string | undefined {
    return this.held?.term;
  }

  /** What appends of the current lead are fenced with; undefined while not leading. */
  get fence(): T | undefined {
    return this.held?.fence;
  }

  /**
   * Runs `claim` after the claims before it settled: one claim at a time per store, since a
   * lead lock can be re-entrant (two claims on one PostgreSQL session would both win, and one
   * unlock would not free it) and two claims must not both take a lead.
   */
  inTurn(claim: () => Promise<string | undefined>): Promise<string | undefined> {
    const next = (this.claiming ?? Promise.resolve(undefined)).catch(() => undefined).then(claim);
    this.claiming = next;
    const clear = (): void => {
      if (this.claiming === next) this.claiming = undefined;
    };
    next.then(clear, clear);
    return next;
  }

  take(term: string, fence: T): void {
    this.held = { term, fence };
  }

  /** The lead `fence` belongs to is lost (a no-op when it is not the current one any more). */
  lose(fence: T): void {
    if (this.held === undefined || this.held.fence !== fence) return;
    this.held = undefined;
    const called = [...this.listeners];
    this.listeners.clear();
    // Every listener hears of the loss even if one throws; the first error is thrown after.
    let failure: { error: unknown } | undefined;
    for (const listener of called) {
      try {
        listener();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
  }

  /** Gives the lead up without calling the listeners; returns what it was fenced with. */
  giveUp(): T | undefined {
    const fence = this.held?.fence;
    this.held = undefined;
    return fence;
  }

  onLost(listener: () => void): () => void {
    // A fresh function per subscription, so that the same listener can subscribe twice.
    const once = (): void => listener();
    this.listeners.add(once);
    return () => {
      this.listeners.delete(once);
    };
  }
}
