import { OperationError } from './operation-error.js';

/**
 * Runs tasks one at a time, in the order they were queued. The runtime applies operations
 * in commit order through it, so an adapter never sees a change before the one it builds on,
 * and at most one operation per runtime can be unsettled when the process dies.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  constructor(private readonly lengthMax: number) {}

  get length(): number {
    return this.waiting;
  }

  run<Value>(task: () => Promise<Value>): Promise<Value> {
    if (this.waiting >= this.lengthMax) {
      return Promise.reject(
        new OperationError({ code: 'RUNTIME_BUSY', message: `${this.waiting} operations are already waiting; try again later`, step: 'validate', details: { waiting: this.waiting, waitingMax: this.lengthMax } }),
      );
    }
    this.waiting += 1;
    const result = this.tail.then(task).finally(() => {
      this.waiting -= 1;
    });
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves when everything queued so far has finished. */
  async drain(): Promise<void> {
    await this.tail;
  }
}
