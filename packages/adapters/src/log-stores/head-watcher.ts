/**
 * A shared log's channel of head announcements (PostgreSQL's LISTEN, an etcd watch on the head
 * key). `listen` resolves once announcements flow, with the function that stops them; after
 * that it calls `onHead` with each announced head and `onLost` once if the channel breaks.
 */
export interface HeadAnnouncements {
  listen(onHead: (head: number) => void, onLost: () => void): Promise<() => void>;
}

export interface HeadWatcherOptions {
  readonly announcements: HeadAnnouncements;
  /** A linearizable read of the head, used after (re)starting the channel and by the backstop poll. */
  readonly readHead: () => Promise<number>;
  /** Interval of the backstop poll. */
  readonly pollMs: number;
}

// Restarting a broken channel backs off from the first delay up to the last one.
const restartDelayFirstMs = 50;
const restartDelayMaxMs = 5_000;
// Only the last few own appends can still have an announcement on its way.
const ownHeadsMax = 8;

/**
 * Tells listeners when the head of a shared log may have moved, for as long as any listener
 * is registered.
 *
 * Announcements are only wake-ups: they can be missed (the channel broke and was restarted,
 * nobody listened yet, a watch skipped an event or stalled on a member cut off from the
 * others), so the watcher reads the head after each (re)start and polls it as a backstop. A
 * listener only ever takes a call as a cue to read.
 */
export class HeadWatcher {
  private readonly listeners = new Set<(head: number) => void>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private restartDelayMs = restartDelayFirstMs;
  private stopListening: (() => void) | undefined;
  private headSeen = 0;
  /** Heads this process's own appends announce: no need to wake our own owner for those. */
  private readonly ownHeads: number[] = [];
  /** Callers of `changed` waiting for the next announcement. */
  private readonly waiters = new Set<() => void>();
  /** Counts starts and stops so that a channel opened for an earlier start is dropped. */
  private generation = 0;

  constructor(private readonly options: HeadWatcherOptions) {}

  add(listener: (head: number) => void): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.start();
    return () => {
      if (!this.listeners.delete(listener)) return;
      if (this.listeners.size === 0) this.stop();
    };
  }

  /**
   * Marks `head` as the one our own append in flight will announce. The owner folds its own
   * records when the append resolves, so waking it for them would only cost it a needless
   * head() round trip, often in the middle of its next commit. Positions are unique, so an
   * announcement of this head comes from our append; if that append fails instead, the owner
   * catches up anyway.
   */
  expectOwn(head: number): void {
    this.ownHeads.push(head);
    if (this.ownHeads.length > ownHeadsMax) this.ownHeads.shift();
  }

  /**
   * Resolves at the next announcement this watcher sees (own appends excepted), or after
   * `timeoutMs`, whichever comes first; at once after the timeout when nobody subscribes.
   */
  changed(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  /** Stops watching; listeners stay registered but are never called again. */
  close(): void {
    for (const waiter of [...this.waiters]) waiter();
    this.listeners.clear();
    this.stop();
  }

  private start(): void {
    this.generation += 1;
    this.timer = setInterval(() => void this.poll(), this.options.pollMs);
    this.timer.unref();
    void this.listen(this.generation);
  }

  private stop(): void {
    this.generation += 1;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    this.timer = undefined;
    this.restartTimer = undefined;
    this.dropChannel();
  }

  private async listen(generation: number): Promise<void> {
    try {
      const stop = await this.options.announcements.listen(
        (head) => {
          if (generation === this.generation) this.onHead(head);
        },
        () => this.onLost(generation),
      );
      if (generation !== this.generation) {
        stop();
        return;
      }
      this.stopListening = stop;
      this.restartDelayMs = restartDelayFirstMs;
      // Appends between subscribing and the channel taking effect announced nothing to us.
      this.emit(await this.options.readHead(), true);
    } catch {
      this.onLost(generation);
    }
  }

  private onLost(generation: number): void {
    if (generation !== this.generation || this.restartTimer !== undefined) return;
    this.dropChannel();
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(restartDelayMaxMs, delay * 2);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.listen(generation);
    }, delay);
    this.restartTimer.unref();
  }

  private dropChannel(): void {
    const stop = this.stopListening;
    this.stopListening = undefined;
    stop?.();
  }

  private onHead(head: number): void {
    if (!Number.isSafeInteger(head) || head <= 0) return;
    if (this.ownHeads.includes(head)) {
      this.headSeen = Math.max(this.headSeen, head);
      return;
    }
    for (const waiter of [...this.waiters]) waiter();
    this.emit(head, false);
  }

  private async poll(): Promise<void> {
    const generation = this.generation;
    try {
      const head = await this.options.readHead();
      if (generation === this.generation) this.emit(head, false);
    } catch {
      // A failed poll is only a missed wake-up; the next poll or announcement makes up for it.
    }
  }

  private emit(head: number, always: boolean): void {
    if (!always && head <= this.headSeen) return;
    this.headSeen = Math.max(this.headSeen, head);
    for (const listener of [...this.listeners]) {
      try {
        listener(head);
      } catch (error) {
        // A throwing listener is a bug in the owner; surface it instead of losing it here.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
