/**
 * Where a commit's fdatasync runs: on the event-loop thread, or on libuv's thread pool.
 *
 * Inline, it blocks the process for as long as the disk takes, but it skips the round trip
 * through the thread pool and the wait for the event loop to take the completion. On the
 * development machine (fdatasync about 0.12 ms) that made 64 concurrent callers commit
 * 15-25% more transactions a second, and a lone caller 20-40% more. On a slow disk (a
 * spinning one, a network volume) an inline fdatasync would stall every other callback of
 * the process for milliseconds per commit, so syncs move to the thread pool while their
 * recent average exceeds `inlineMsMax`, and come back once it falls below.
 */
export class SyncPlacement {
  /** A moving average of recent fdatasync durations, in milliseconds. */
  private averageMs = 0;

  constructor(
    private readonly inlineMsMax = 1,
    /** Each new duration moves the average by 1/smoothing of its distance. */
    private readonly smoothing = 8,
  ) {}

  inline(): boolean {
    return this.averageMs <= this.inlineMsMax;
  }

  /** Notes how long an fdatasync took (wherever it ran). */
  note(durationMs: number): void {
    this.averageMs += (durationMs - this.averageMs) / this.smoothing;
  }
}
