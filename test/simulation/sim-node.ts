import { isOrdoError, openStore, type EntityType, type LogStore, type Store } from '@ordo/core';

export interface SimNodeOptions {
  readonly entities: readonly EntityType[];
  readonly ids: () => string;
  readonly clock: () => number;
  /** Runs between closing and reopening: a fault wrapper clears its broken state, a lossy log loses a record. */
  readonly beforeReopen?: () => Promise<void> | void;
}

/** Opening may meet injected read failures; a restarted process would simply try again. */
const openAttemptsMax = 50;

/**
 * One simulated process: an Ordo store over its own view of a shared log, which can crash and
 * restart (close, then open again over the same log) while clients keep using it.
 */
export class SimNode {
  restarts = 0;
  private current: Store | undefined;
  private readonly inflight = new Set<Promise<unknown>>();
  private restarting: Promise<void> | undefined;

  constructor(
    private readonly log: LogStore,
    private readonly options: SimNodeOptions,
  ) {}

  async start(): Promise<void> {
    this.current = await this.open();
  }

  /** The store once any restart in progress has finished. */
  async ready(): Promise<Store> {
    while (this.restarting !== undefined) await this.restarting;
    if (this.current === undefined) throw new Error('node not started');
    return this.current;
  }

  /**
   * Runs a client operation on the current store, tracked so that a restart can let it settle.
   * When it fails with LOG_STORE_FAILED the store cannot tell what it wrote: the node restarts,
   * as an operator would, and the error passes on.
   */
  async run<Value>(operation: (store: Store) => Promise<Value>): Promise<Value> {
    let store = await this.ready();
    // A restart may have begun while ready() resumed; only start on a store nobody is closing.
    while (this.restarting !== undefined) store = await this.ready();
    const promise = operation(store);
    this.inflight.add(promise);
    try {
      return await promise;
    } catch (error) {
      if (isOrdoError(error, 'LOG_STORE_FAILED')) void this.restart();
      throw error;
    } finally {
      this.inflight.delete(promise);
    }
  }

  /**
   * Crashes and restarts the node; concurrent calls share one restart. The restart waits for
   * the operations in flight to settle before it closes the store: a read-only transaction
   * whose function finishes after close() never settles (a core bug, see
   * test/simulation/core-bugs.test.ts), and waiting keeps the simulation from hanging on it.
   */
  restart(): Promise<void> {
    this.restarting ??= (async () => {
      await Promise.allSettled([...this.inflight]);
      const old = this.current;
      this.current = undefined;
      // Closing lets the append in flight settle and refuses what is queued, as a crash would lose it.
      await old?.close().catch(() => undefined);
      await this.options.beforeReopen?.();
      this.current = await this.open();
      this.restarts += 1;
    })().finally(() => {
      this.restarting = undefined;
    });
    return this.restarting;
  }

  async close(): Promise<void> {
    while (this.restarting !== undefined) await this.restarting;
    await this.current?.close();
    this.current = undefined;
  }

  private async open(): Promise<Store> {
    let last: unknown;
    for (let attempt = 0; attempt < openAttemptsMax; attempt += 1) {
      try {
        return await openStore({ entities: this.options.entities, log: this.log, ids: this.options.ids, clock: this.options.clock });
      } catch (error) {
        last = error;
      }
    }
    throw new Error(`node did not open after ${openAttemptsMax} attempts`, { cause: last });
  }
}
