import { admitBatch, type CommitRequest, type Refusal } from './admission.js';
import { assert, CommitQueueFullError, foldRefusalCodes, InternalError, isOrdoError, StoreClosedError, type EntityRef, type LogHeadMovedError } from './errors.js';
import type { FoldFollowers } from './fold-followers.js';
import type { LogStore } from './log-store.js';
import type { ReadSet } from './read-set.js';
import type { LogRecord } from './record.js';
import type { EntityChange, State } from './state.js';

export type { CommitRequest } from './admission.js';

export type CommitOutcome = { readonly type: 'committed'; readonly record: LogRecord; readonly changes: readonly EntityChange[] } | Refusal;

interface Pending {
  readonly request: CommitRequest;
  resolve(outcome: CommitOutcome): void;
  reject(error: unknown): void;
}

/** Most records in one append. Bounds the work between two acknowledgements. */
export const batchRecordsMax = 2048;
/** Most records read per call while catching up. */
export const catchUpRecordsMax = 4096;
/** Longest a commit turn holds back the other commits (then it ends without its commit). */
export const turnMsMax = 1_000;

/**
 * A commit turn: no append is in flight while it is held and none starts, so a transaction
 * run now reads the state its commit is validated at; `submit` puts its commit first in the
 * next batch and ends the turn.
 */
export interface CommitTurn {
  submit(request: CommitRequest): Promise<CommitOutcome>;
  /** Ends the turn without a commit (the transaction failed, or wrote nothing). */
  release(): void;
}

/**
 * Serializes commits (I1, I2). Requests queue up while an append is in flight and go to the
 * log store together (group commit); `admitBatch` decides, from the folded state alone, which
 * of them get a record (I5, I7), so a batch is exactly the serial history of its requests.
 * Records are folded into the state only after the log store acknowledged them (I4), and
 * `followers.folded` runs after each fold. Catch-up reads of records appended by other
 * writers run in the same loop, started by the log store's notifications or by `catchUp`,
 * so the state changes in one place only.
 */
export class Sequencer {
  private readonly queue: Pending[] = [];
  private running = false;
  private catchUpWanted = false;
  private catchUpWaiters: { resolve(): void; reject(error: unknown): void }[] = [];
  private closed = false;
  /** Callers waiting for a commit turn, and whether one is held. */
  private readonly turnWaiters: ((turn: CommitTurn) => void)[] = [];
  private turnHeld = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;
  private readonly unsubscribe: () => void;
  /** Set when the store can no longer tell what the log holds; every later commit fails with it. */
  failure: Error | undefined = undefined;

  constructor(
    private readonly state: State,
    private readonly log: LogStore,
    private readonly followers: FoldFollowers,
    private readonly options: { readonly clock: () => number; readonly queuedCommitsMax: number },
  ) {
    // Another writer may have appended: catch up before the next batch.
    this.unsubscribe = log.subscribe((head) => {
      if (head > this.state.position) {
        this.catchUpWanted = true;
        this.schedule();
      }
    });
  }

  /** Queues a commit; rejects with CommitQueueFullError when `queuedCommitsMax` commits wait already. */
  submit(request: CommitRequest): Promise<CommitOutcome> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const { queuedCommitsMax } = this.options;
    if (this.queue.length >= queuedCommitsMax) return Promise.reject(new CommitQueueFullError({ queued: this.queue.length, queuedMax: queuedCommitsMax }));
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Waits for a commit turn: the batch in flight is appended and folded, and the next one
   * waits until the turn ends (at the latest turnMsMax later). For a transaction that keeps
   * conflicting because every batch changes what it read while it runs (a hot `find`): run in
   * a turn, it reads the latest state and commits first, so it cannot lose again.
   */
  turn(): Promise<CommitTurn> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    return new Promise((resolve) => {
      this.turnWaiters.push(resolve);
      this.grantTurn();
    });
  }

  private grantTurn(): void {
    if (this.turnHeld || this.running) return;
    const grant = this.turnWaiters.shift();
    if (grant === undefined) return;
    this.turnHeld = true;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      this.turnHeld = false;
      this.schedule();
      this.grantTurn();
    };
    const timer = setTimeout(end, turnMsMax);
    timer.unref?.();
    grant({
      submit: (request) => {
        if (ended || this.closed || this.failure !== undefined) {
          end();
          return this.submit(request);
        }
        const outcome = new Promise<CommitOutcome>((resolve, reject) => this.queue.unshift({ request, resolve, reject }));
        end();
        return outcome;
      },
      release: end,
    });
  }

  /** Resolves once every record the log store holds now has been folded. */
  catchUp(): Promise<void> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.catchUpWaiters.push({ resolve, reject });
      this.catchUpWanted = true;
      this.schedule();
    });
  }

  /**
   * The reads of a finished transaction that no longer hold at the log's head: on a log with
   * other writers, after folding what they appended (I2 across processes); on a log with one
   * writer, at the folded state, which is the head.
   */
  async staleReads(reads: ReadSet): Promise<EntityRef[]> {
    if (this.log.multiWriter && reads.size > 0) await this.catchUp();
    return reads.conflicts(this.state);
  }

  /** Lets the append in flight settle, then rejects what is still queued. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    this.turnHeld = false;
    // Waiters get a turn that only refuses: their submit finds the sequencer closed.
    for (const grant of this.turnWaiters.splice(0)) grant({ submit: (request) => this.submit(request), release: () => undefined });
    await this.idle;
    for (const pending of this.queue.splice(0)) pending.reject(new StoreClosedError());
    for (const waiter of this.catchUpWaiters.splice(0)) waiter.reject(new StoreClosedError());
  }

  private schedule(): void {
    if (this.running || this.closed || this.turnHeld) return;
    this.running = true;
    this.idle = new Promise((resolve) => (this.markIdle = resolve));
    // A microtask later, every caller that is ready in this turn has queued its commit.
    queueMicrotask(() => void this.drain());
  }

  private async drain(): Promise<void> {
    try {
      while (!this.closed && this.failure === undefined && (this.catchUpWanted || this.queue.length > 0)) {
        if (!this.catchUpWanted) {
          await this.commitBatch(this.queue.splice(0, batchRecordsMax));
        } else if (!(await this.tryCatchUp())) {
          break;
        }
        // A caller waiting for a turn gets it now that the state is the log's (the batch just
        // appended held the last turn's commit, first).
        if (this.turnWaiters.length > 0 && !this.catchUpWanted) break;
      }
    } catch (error) {
      // Only a broken invariant gets here (a fold that failed half-way): the state can no
      // longer be trusted, so the store stops writing.
      this.failure = error instanceof Error ? error : new InternalError(String(error));
      this.rejectQueued(this.failure);
    } finally {
      this.running = false;
      this.markIdle();
      this.grantTurn();
      // Work that arrived while the loop was unwinding (after a failed catch-up rejected the
      // queue) found it still running and did not start it: start it now.
      if (!this.closed && this.failure === undefined && (this.queue.length > 0 || this.catchUpWaiters.length > 0)) this.schedule();
    }
  }

  /**
   * A failed catch-up (a lost connection) fails what is queued now and is tried again before
   * the next commit: the state is only behind, never wrong, and an append from a state that is
   * behind is refused by the log store with LOG_HEAD_MOVED.
   */
  private async tryCatchUp(): Promise<boolean> {
    try {
      await this.readNewRecords();
      return true;
    } catch (error) {
      // Stored data this code refuses to fold (I6) is not a passing failure either: the store
      // stops, as for a broken invariant, rather than write from a state it cannot build.
      if (isOrdoError(error, 'INTERNAL') || (isOrdoError(error) && foldRefusalCodes.has(error.code))) throw error;
      this.rejectQueued(error);
      this.catchUpWanted = true;
      return false;
    }
  }

  private async readNewRecords(): Promise<void> {
    this.catchUpWanted = false;
    const waiters = this.catchUpWaiters.splice(0);
    try {
      const head = await this.log.head();
      while (this.state.position < head) {
        const records = await this.log.read(this.state.position + 1, catchUpRecordsMax);
        assert(records.length > 0, `log store returned no records below its head ${head}`);
        this.foldRead(records);
      }
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error);
      throw error;
    }
    for (const waiter of waiters) waiter.resolve();
  }

  /** Folds records another writer appended, read back from the log. */
  private foldRead(records: readonly LogRecord[]): void {
    for (const record of records) this.state.replay(record);
    this.followers.folded(records);
  }

  /**
   * After a lost race: folds the records the log store read while finding that out, when they
   * continue this state. True when they did, so the retry needs no catch-up read of its own
   * (if they are not all, the retry loses again and gets the rest).
   */
  private foldMovedRecords(error: LogHeadMovedError): boolean {
    const records = error.records;
    if (records === undefined || records.length === 0 || records[0]!.position !== this.state.position + 1) return false;
    this.foldRead(records);
    return true;
  }

  private async commitBatch(batch: Pending[]): Promise<void> {
    const { records, accepted, refused } = admitBatch(this.state, batch, this.options.clock());
    for (const { item, refusal } of refused) item.resolve(refusal);
    if (records.length === 0) return;
    try {
      await this.log.append(records);
    } catch (error) {
      if (isOrdoError(error, 'LOG_HEAD_MOVED')) {
        // Another writer got there first: fold its records, then validate these requests again.
        this.queue.unshift(...accepted);
        // The store may have read them already, in the round trip that lost.
        if (this.foldMovedRecords(error)) return;
      } else {
        for (const pending of accepted) pending.reject(error);
      }
      // Either way the log may hold records this state lacks: read them before going on.
      this.catchUpWanted = true;
      return;
    }
    let changes: EntityChange[][];
    try {
      changes = this.foldAll(records, accepted.map((pending) => pending.request.changes));
    } catch (error) {
      for (const pending of accepted) pending.reject(error);
      throw error;
    }
    accepted.forEach((pending, index) => {
      pending.resolve({ type: 'committed', record: records[index] as LogRecord, changes: changes[index] as EntityChange[] });
    });
  }

  private foldAll(records: readonly LogRecord[], prepared: readonly (readonly EntityChange[])[]): EntityChange[][] {
    const changes = records.map((record, index) => this.state.fold(record, prepared[index]));
    this.followers.folded(records);
    return changes;
  }

  private rejectQueued(error: unknown): void {
    for (const pending of this.queue.splice(0)) pending.reject(error);
    for (const waiter of this.catchUpWaiters.splice(0)) waiter.reject(error);
  }
}
