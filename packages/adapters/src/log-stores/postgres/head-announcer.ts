import type { PostgresPool } from './postgres-pool.js';

// How long close() waits for its last announcement.
const closeFlushWaitMs = 1_000;

/**
 * Decides which appends carry a NOTIFY. A NOTIFY costs every commit a lock on the database's
 * notification queue and a signal to each listener: at one caller that is a large share of an
 * append. Readers treat notifications as wake-ups only, so one per `coalesceMs` carries the
 * news of every append before it:
 * - an append notifies when no notification left this process in the last `coalesceMs`;
 * - an append that does not notify arms a timer; when it fires and no append is running, one
 *   standalone NOTIFY announces the last head. So others hear of every append within about
 *   `coalesceMs` plus one round trip, and at once when appends are rare.
 * With `coalesceMs` 0 every append notifies.
 */
export class HeadAnnouncer {
  private lastNotifiedAt = Number.NEGATIVE_INFINITY;
  private unannounced: number | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private appending = false;
  private closed = false;

  constructor(
    private readonly pool: PostgresPool,
    private readonly channel: string,
    private readonly coalesceMs: number,
    /** Told every head this process announces, so that its own watcher can ignore it. */
    private readonly announcing: (head: number) => void,
  ) {}

  /** Called as an append of records up to `head` starts: whether its statement should NOTIFY. */
  begin(head: number): boolean {
    this.appending = true;
    const now = performance.now();
    const notify = now - this.lastNotifiedAt >= this.coalesceMs;
    if (notify) {
      this.lastNotifiedAt = now;
      this.announcing(head);
    }
    return notify;
  }

  /** Called when that append settled: whether it is in the log, and whether it notified. */
  end(outcome: { readonly head: number; readonly written: boolean; readonly notified: boolean }): void {
    this.appending = false;
    if (outcome.written && outcome.notified) {
      // Its NOTIFY carries a head above everything appended before it.
      this.unannounced = undefined;
      return;
    }
    if (outcome.written) this.unannounced = Math.max(this.unannounced ?? 0, outcome.head);
    if (this.unannounced === undefined || this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), this.coalesceMs);
    this.timer.unref();
  }

  /** Sends the standalone NOTIFY for appends that went in without one. */
  async flush(): Promise<void> {
    this.timer = undefined;
    const head = this.unannounced;
    // A running append re-arms the timer when it ends, or carries the news itself.
    if (head === undefined || this.appending) return;
    this.unannounced = undefined;
    this.lastNotifiedAt = performance.now();
    this.announcing(head);
    try {
      await this.pool.query({ text: 'SELECT pg_notify($1, $2)', values: [this.channel, String(head)] });
    } catch {
      // Only a wake-up is lost: listeners poll the head as a backstop.
    }
  }

  /** Announces what is still unannounced (waiting a bounded time for it), then stops. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.appending = false;
    this.closed = true;
    let timeout: ReturnType<typeof setTimeout> | undefined;
    // A server that does not answer must not hold up close: the announcement is only a wake-up.
    const gaveUp = new Promise<void>((resolve) => (timeout = setTimeout(resolve, closeFlushWaitMs)));
    await Promise.race([this.flush(), gaveUp]);
    clearTimeout(timeout);
  }
}
