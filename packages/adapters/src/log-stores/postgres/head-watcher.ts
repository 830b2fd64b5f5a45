import type { PostgresNotification, PostgresPool, PostgresPoolClient } from './postgres-pool.js';

export interface HeadWatcherOptions {
  readonly pool: PostgresPool;
  readonly channel: string;
  /** A linearizable read of the head, used after (re)connecting and by the backstop poll. */
  readonly readHead: () => Promise<number>;
  /** Interval of the backstop poll. */
  readonly pollMs: number;
}

// Reconnecting the LISTEN connection backs off from the first delay up to the last one.
const reconnectDelayFirstMs = 50;
const reconnectDelayMaxMs = 5_000;
// Only the last few own appends can still have a notification on its way.
const ownHeadsMax = 8;

/**
 * Tells listeners when the head may have moved, for as long as any listener is registered.
 *
 * A dedicated connection LISTENs on the log's channel. Appends NOTIFY the new head in the same
 * statement that inserts (at most one per few milliseconds per process, see head-announcer.ts),
 * so a notification arrives only once the records are committed. Notifications can be missed (the LISTEN connection broke and was re-established, or
 * nobody listened yet), so the watcher reads the head after each (re)connect and polls it
 * slowly as a backstop. A listener only ever takes a notification as a wake-up and reads.
 */
export class HeadWatcher {
  private readonly listeners = new Set<(head: number) => void>();
  private client: PostgresPoolClient | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectDelayMs = reconnectDelayFirstMs;
  private headSeen = 0;
  /** Heads this process's own appends announce: no need to wake our own owner for those. */
  private readonly ownHeads: number[] = [];
  /** Counts starts and stops so that a connection made for an earlier start is dropped. */
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
   * head() round trip, often in the middle of its next commit. Positions are unique, so a
   * notification with this head comes from our statement; if that append fails instead, the
   * owner catches up anyway.
   */
  expectOwn(head: number): void {
    this.ownHeads.push(head);
    if (this.ownHeads.length > ownHeadsMax) this.ownHeads.shift();
  }

  /** Stops watching; listeners stay registered but are never called again. */
  close(): void {
    this.listeners.clear();
    this.stop();
  }

  private start(): void {
    this.generation += 1;
    this.timer = setInterval(() => void this.poll(), this.options.pollMs);
    this.timer.unref();
    void this.connect(this.generation);
  }

  private stop(): void {
    this.generation += 1;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.timer = undefined;
    this.reconnectTimer = undefined;
    this.dropClient(undefined);
  }

  private async connect(generation: number): Promise<void> {
    let client: PostgresPoolClient | undefined;
    try {
      client = await this.options.pool.connect();
      if (generation !== this.generation) {
        client.release();
        return;
      }
      this.client = client;
      const connected = client;
      connected.on('notification', (notification) => this.onNotification(notification));
      connected.on('error', (error) => this.onConnectionLost(connected, error));
      connected.on('end', () => this.onConnectionLost(connected, new Error('LISTEN connection ended')));
      await connected.query({ text: `LISTEN "${this.options.channel}"` });
      this.reconnectDelayMs = reconnectDelayFirstMs;
      // Appends between subscribing and LISTEN taking effect sent no notification to us.
      this.emit(await this.options.readHead(), true);
    } catch (error) {
      if (client !== undefined) this.onConnectionLost(client, error instanceof Error ? error : new Error(String(error)));
      else this.scheduleReconnect(generation);
    }
  }

  private onConnectionLost(client: PostgresPoolClient, error: Error): void {
    if (this.client !== client) return;
    this.dropClient(error);
    this.scheduleReconnect(this.generation);
  }

  private scheduleReconnect(generation: number): void {
    if (generation !== this.generation || this.reconnectTimer !== undefined) return;
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(reconnectDelayMaxMs, delay * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect(generation);
    }, delay);
    this.reconnectTimer.unref();
  }

  private dropClient(error: Error | undefined): void {
    const client = this.client;
    this.client = undefined;
    // Destroy rather than return it: a pooled connection must not stay subscribed to LISTEN.
    if (client !== undefined) client.release(error ?? true);
  }

  private onNotification(notification: PostgresNotification): void {
    if (notification.channel !== this.options.channel) return;
    const head = Number(notification.payload);
    if (!Number.isSafeInteger(head) || head <= 0) return;
    if (this.ownHeads.includes(head)) this.headSeen = Math.max(this.headSeen, head);
    else this.emit(head, false);
  }

  private async poll(): Promise<void> {
    const generation = this.generation;
    try {
      const head = await this.options.readHead();
      if (generation === this.generation) this.emit(head, false);
    } catch {
      // A failed poll is only a missed wake-up; the next poll or notification makes up for it.
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
