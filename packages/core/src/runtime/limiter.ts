import { OperationError } from './operation-error.js';

/**
 * Lets at most `concurrencyMax` tasks run at once and at most `waitingMax` wait for a turn;
 * more are refused with RUNTIME_BUSY. Waiting tasks start in the order they came.
 */
export class Limiter {
  private running = 0;
  private readonly queue: (() => void)[] = [];
  private readonly idle = new Set<() => void>();

  constructor(
    private readonly concurrencyMax: number,
    private readonly waitingMax: number,
  ) {}

  async run<Value>(task: () => Promise<Value>): Promise<Value> {
    if (this.running >= this.concurrencyMax) {
      if (this.queue.length >= this.waitingMax) {
        throw new OperationError({
          code: 'RUNTIME_BUSY',
          message: `${this.queue.length} operations are already waiting; try again later`,
          step: 'validate',
          details: { waiting: this.queue.length, waitingMax: this.waitingMax },
        });
      }
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  /** Resolves when nothing runs or waits. */
  drain(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.add(resolve));
  }

  private release(): void {
    const next = this.queue.shift();
    // The slot passes straight to the next waiter: `running` stays as it is.
    if (next !== undefined) {
      next();
      return;
    }
    this.running -= 1;
    if (this.running === 0) {
      for (const resolve of this.idle) resolve();
      this.idle.clear();
    }
  }
}
