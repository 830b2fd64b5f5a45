/**
 * Runs async tasks one at a time, in the order they were queued. The file store uses one for
 * appends (the core never has two in flight, but a second one must wait rather than race the
 * head), one for disk reads (they share one open file and one cached chunk) and one for
 * snapshots.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    // The queue continues after a failed task; the failure reaches the task's own caller.
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves when every task queued so far has settled. */
  async idle(): Promise<void> {
    await this.run(async () => undefined);
  }
}
