/** Least time between two progress lines. */
const progressIntervalMs = 1_000;

/**
 * Progress of a long run (verify, export, import, copy) on stderr: done / total records,
 * records per second and an estimate of the time left, at most once a second, and a last line
 * when it ends. Quiet runs (`--quiet`) print nothing.
 */
export class Progress {
  private readonly started = Date.now();
  private shownAt = this.started;
  private done = 0;

  constructor(
    private readonly task: string,
    private readonly total: number,
    private readonly write: ((text: string) => void) | undefined,
  ) {}

  advance(records: number): void {
    this.done += records;
    const now = Date.now();
    if (now - this.shownAt < progressIntervalMs) return;
    this.shownAt = now;
    this.show(now, false);
  }

  finish(): void {
    this.show(Date.now(), true);
  }

  private show(now: number, last: boolean): void {
    if (this.write === undefined) return;
    const seconds = Math.max(now - this.started, 1) / 1000;
    const rate = this.done / seconds;
    const left = rate > 0 && this.total > this.done ? ` about ${Math.ceil((this.total - this.done) / rate)} s left` : '';
    const status = last ? `done in ${seconds.toFixed(1)} s` : `${Math.round((100 * this.done) / Math.max(this.total, 1))}%${left}`;
    this.write(`${this.task}: ${this.done}/${this.total} records, ${Math.round(rate)} records/s, ${status}\n`);
  }
}
