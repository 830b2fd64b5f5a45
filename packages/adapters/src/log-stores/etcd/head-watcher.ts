import type { EtcdConnection } from './etcd-connection.js';
import { positionOfValue } from './stored-head.js';

export interface HeadWatcherOptions {
  readonly connection: EtcdConnection;
  readonly headKey: Buffer;
  /** A linearizable read of the head, used after (re)starting the watch and by the backstop poll. */
  readonly readHead: () => Promise<number>;
  readonly pollMs: number;
}

// Restarting a broken watch backs off from the first delay up to the last one.
const restartDelayFirstMs = 50;
const restartDelayMaxMs = 5_000;
// Only the last few own appends can still have an event on its way.
const ownHeadsMax = 8;

/**
 * Tells listeners when the head may have moved, for as long as any listener is registered.
 *
 * An etcd watch on the head key is only a wake-up: etcd3's resume after a broken stream can skip
 * events, a watch served by a member cut off from the others stalls without a word, and
 * compaction ends a watch whose revision was compacted. So the watcher reads the head after
 * each (re)start and polls it as a backstop; a listener only ever takes a call as a cue to read.
 */
export class HeadWatcher {
  private readonly listeners = new Set<(head: number) => void>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private restartDelayMs = restartDelayFirstMs;
  private cancel: (() => Promise<void>) | undefined;
  private headSeen = 0;
  private readonly ownHeads: number[] = [];
  /** Callers of `changed` waiting for the next event. */
  private readonly waiters = new Set<() => void>();
  /** Counts starts and stops so that a watch made for an earlier start is dropped. */
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

  /** The head our own append in flight will write: waking our own owner for it would only cost a read. */
  expectOwn(head: number): void {
    this.ownHeads.push(head);
    if (this.ownHeads.length > ownHeadsMax) this.ownHeads.shift();
  }

  /**
   * Resolves at the next put of the head key this watcher sees (own appends excepted), or after
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

  close(): void {
    for (const waiter of [...this.waiters]) waiter();
    this.listeners.clear();
    this.stop();
  }

  private start(): void {
    this.generation += 1;
    this.timer = setInterval(() => void this.poll(), this.options.pollMs);
    this.timer.unref();
    void this.watch(this.generation);
  }

  private stop(): void {
    this.generation += 1;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    this.timer = undefined;
    this.restartTimer = undefined;
    this.dropWatch();
  }

  private async watch(generation: number): Promise<void> {
    try {
      const cancel = await this.options.connection.watch(
        this.options.headKey,
        (value) => this.onPut(value),
        () => this.onLost(generation),
      );
      if (generation !== this.generation) {
        await cancel().catch(() => undefined);
        return;
      }
      this.cancel = cancel;
      this.restartDelayMs = restartDelayFirstMs;
      // Appends between subscribing and the watch taking effect sent no event to us.
      this.emit(await this.options.readHead(), true);
    } catch {
      this.onLost(generation);
    }
  }

  private onLost(generation: number): void {
    if (generation !== this.generation || this.restartTimer !== undefined) return;
    this.dropWatch();
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(restartDelayMaxMs, delay * 2);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.watch(generation);
    }, delay);
    this.restartTimer.unref();
  }

  private dropWatch(): void {
    const cancel = this.cancel;
    this.cancel = undefined;
    if (cancel !== undefined) void cancel().catch(() => undefined);
  }

  private onPut(value: Buffer): void {
    const head = positionOfValue(value);
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
      // A failed poll is only a missed wake-up; the next poll or event makes up for it.
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
