import { admitBatch, relayedCommitOf, type CommitRequest, type Refusal } from './admission.js';
import type { CommitRelay, RelayedCommit, RelayedOutcome } from './commit-relay.js';
import {
  assert,
  CommitQueueFullError,
  foldRefusalCodes,
  InternalError,
  isOrdoError,
  LogStoreError,
  StoreClosedError,
  type EntityRef,
  type LogHeadMovedError,
} from './errors.js';
import type { FoldFollowers } from './fold-followers.js';
import type { LogStore } from './log-store.js';
import type { ReadSet } from './read-set.js';
import type { LogRecord } from './record.js';
import { RelayedReads, uncheckedReadsKind } from './relayed-reads.js';
import { requestOutcome, type EntityChange, type State } from './state.js';

export type { CommitRequest } from './admission.js';

export type CommitOutcome = { readonly type: 'committed'; readonly record: LogRecord; readonly changes: readonly EntityChange[] } | Refusal;


interface Pending {
  readonly request: CommitRequest;
  /** For a relayed commit: the lead's term it was admitted under. */
  readonly term?: string | undefined;
  resolve(outcome: CommitOutcome): void;
  /** A relayed commit's answer when this store cannot check it (see admission.ts `checkable`). */
  decline?(): void;
  reject(error: unknown): void;
}

/** Most records in one append. Bounds the work between two acknowledgements. */
export const batchRecordsMax = 2048;
/** Most records read per call while catching up. */
export const catchUpRecordsMax = 4096;
/** Longest a commit turn holds back the other commits (then it ends without its commit). */
export const turnMsMax = 1_000;
/**
 * How long a follower of a commit relay lets the leader's stream bring records that the log
 * store announced, before it reads them from the log store itself.
 */
export const followerReadDelayMs = 50;

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
  /** The relay of a shared log (see commit-relay.ts), when the log store has one. */
  private readonly relay: CommitRelay | undefined;
  /** True while an append of this store is in flight: records the leader streams wait for it. */
  private appending = false;
  private readonly offered: (readonly LogRecord[])[] = [];
  /** Commits forwarded to the leader and not settled, by txId, with their record once folded. */
  private readonly forwarded = new Map<string, { readonly record: LogRecord; readonly changes: EntityChange[] } | undefined>();
  /** Set after a forward the leader did not take: the next batch goes to the log store directly. */
  private forwardRefused = false;
  private readTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly state: State,
    private readonly log: LogStore,
    private readonly followers: FoldFollowers,
    private readonly options: { readonly clock: () => number; readonly queuedCommitsMax: number; readonly relay?: CommitRelay | undefined },
  ) {
    this.relay = options.relay;
    // Another writer may have appended: catch up before the next batch.
    this.unsubscribe = log.subscribe((head) => {
      if (head <= this.state.position) return;
      // A follower usually gets these records from the leader's stream a moment later.
      if (this.relay?.route === 'follow') {
        this.readLater(head);
        return;
      }
      this.catchUpWanted = true;
      this.schedule();
    });
  }

  /**
   * Leader side of the relay: queues commits another process forwarded; resolves with their
   * outcomes once the batch that holds them was appended, folded and streamed.
   */
  admitRelayed(commits: readonly RelayedCommit[]): Promise<RelayedOutcome[]> {
    if (this.closed || this.failure !== undefined || this.relay?.route !== 'lead') return Promise.reject(notLeading(this.log.name));
    this.state.trackTouches();
    const { term } = this.relay;
    const outcomes = commits.map(
      (commit) =>
        new Promise<RelayedOutcome>((resolve, reject) => {
          this.queue.push({ request: relayedRequest(commit), term, resolve: (outcome) => resolve(relayedOutcome(outcome)), decline: () => resolve({ type: 'declined' }), reject });
        }),
    );
    this.schedule();
    return Promise.all(outcomes);
  }

  /** Follower side of the relay: records the leader appended. Folds what continues the state. */
  offer(records: readonly LogRecord[]): void {
    if (this.closed || this.failure !== undefined) return;
    if (this.appending) {
      this.offered.push(records);
      return;
    }
    try {
      if (!this.foldRead(records)) {
        this.catchUpWanted = true;
        this.schedule();
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private readLater(head: number): void {
    if (this.readTimer !== undefined) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = undefined;
      if (head > this.state.position && !this.closed) {
        this.catchUpWanted = true;
        this.schedule();
      }
    }, followerReadDelayMs);
    this.readTimer.unref?.();
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
    if (this.readTimer !== undefined) clearTimeout(this.readTimer);
    await this.idle;
    for (const pending of this.queue.splice(0)) pending.reject(pending.request.relayed === undefined ? new StoreClosedError() : notLeading(this.log.name));
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
      this.fail(error);
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
        const from = this.state.position + 1;
        const records = await this.log.read(from, catchUpRecordsMax);
        assert(records.length > 0, `log store returned no records below its head ${head}`);
        // The leader's stream may have brought some of them while the read ran.
        assert(this.foldRead(records) || this.state.position >= from, `log store read ${records[0]!.position} for ${from}`);
      }
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error);
      throw error;
    }
    for (const waiter of waiters) waiter.resolve();
  }

  /**
   * Folds records another writer appended, read back from the log or streamed by the leader of
   * the relay, skipping those folded already. False when they do not reach the state (a gap
   * before them), and nothing is folded. A record of a commit this store forwarded is kept
   * with its images for the commit's caller.
   */
  private foldRead(records: readonly LogRecord[]): boolean {
    this.keepTouchesWhileLeading();
    const skip = records.findIndex((record) => record.position > this.state.position);
    if (skip < 0) return true;
    if (records[skip]!.position !== this.state.position + 1) return false;
    const fresh = skip === 0 ? records : records.slice(skip);
    for (const record of fresh) {
      if (this.forwarded.has(record.txId)) this.forwarded.set(record.txId, { record, changes: this.state.fold(record) });
      else this.state.replay(record);
    }
    this.followers.folded(fresh);
    if (this.relay?.route === 'lead') this.relay.appended(fresh);
    return true;
  }

  /**
   * After a lost race: folds the records the log store read while finding that out, when they
   * continue this state. True when they did, so the retry needs no catch-up read of its own
   * (if they are not all, the retry loses again and gets the rest).
   */
  private foldMovedRecords(error: LogHeadMovedError): boolean {
    const records = error.records;
    if (records === undefined || records.length === 0 || records[0]!.position !== this.state.position + 1) return false;
    return this.foldRead(records);
  }

  private async commitBatch(queued: Pending[]): Promise<void> {
    const route = this.relay?.route ?? 'direct';
    this.keepTouchesWhileLeading();
    const batch = this.withoutRelayed(queued, route === 'lead' ? this.relay?.term : undefined);
    if (route === 'follow' && !this.forwardRefused) return this.forwardBatch(batch);
    this.forwardRefused = false;
    // A follower's reads are newer than this state: fold what it saw before validating them.
    if (route === 'lead' && batch.some((pending) => pending.request.relayed !== undefined && pending.request.base > this.state.position)) {
      this.queue.unshift(...batch);
      this.catchUpWanted = true;
      return;
    }
    const { records, accepted, refused, prepared, failed, deferred } = admitBatch(this.state, batch, this.options.clock());
    for (const { item, refusal } of refused) {
      if (refusal.type !== 'declined') item.resolve(refusal);
      else if (item.decline !== undefined) item.decline();
      else item.reject(new InternalError('a commit of this store was declined'));
    }
    for (const { item, error } of failed) item.reject(error);
    this.queue.unshift(...deferred);
    if (records.length === 0) return;
    this.appending = true;
    try {
      await this.log.append(records);
    } catch (error) {
      this.appending = false;
      if (isOrdoError(error, 'LOG_HEAD_MOVED')) {
        // Another writer got there first: fold its records, then validate these requests again.
        this.queue.unshift(...accepted);
        // The store may have read them already, in the round trip that lost.
        if (this.foldMovedRecords(error)) return this.foldOffered();
      } else {
        for (const pending of accepted) pending.reject(error);
      }
      // Either way the log may hold records this state lacks: read them before going on.
      this.catchUpWanted = true;
      return this.foldOffered();
    }
    this.appending = false;
    let changes: EntityChange[][];
    try {
      changes = this.foldAll(records, prepared);
    } catch (error) {
      for (const pending of accepted) pending.reject(error);
      throw error;
    }
    // Followers get the records before the outcomes of their commits in them.
    if (route === 'lead') this.relay?.appended(records);
    accepted.forEach((pending, index) => {
      pending.resolve({ type: 'committed', record: records[index] as LogRecord, changes: changes[index] as EntityChange[] });
    });
    this.foldOffered();
  }

  /**
   * A leader validates relayed reads by position, with the state's touch clock; the other
   * processes do not pay for one. A clock starts when this store comes to lead and knows
   * nothing before that position: a relayed commit whose base is older conflicts, and its
   * writer runs it again on a newer state (once per change of leader).
   */
  private keepTouchesWhileLeading(): void {
    if (this.relay === undefined) return;
    if (this.relay.route === 'lead') this.state.trackTouches();
    else if (this.state.touches !== undefined) this.state.dropTouches();
  }

  /**
   * Relayed commits admitted under another lead than the current one (`term`, undefined when
   * this store does not lead) go back unwritten: a lead that ended is fenced, and so is what
   * it had queued.
   */
  private withoutRelayed(queued: Pending[], term: string | undefined): Pending[] {
    // Without a relay nothing is ever relayed: the commit path pays nothing for it.
    if (this.relay === undefined || !queued.some((pending) => pending.request.relayed !== undefined && (term === undefined || pending.term !== term))) return queued;
    const kept: Pending[] = [];
    for (const pending of queued) {
      if (pending.request.relayed === undefined || (term !== undefined && pending.term === term)) kept.push(pending);
      else pending.reject(notLeading(this.log.name));
    }
    return kept;
  }

  /** Folds what the leader streamed while this store's own append was in flight. */
  private foldOffered(): void {
    for (const records of this.offered.splice(0)) if (!this.foldRead(records)) this.catchUpWanted = true;
  }

  /**
   * Follower side of the relay: sends the batch to the leader, and answers each commit once its
   * record is folded here (the leader streams records before it answers; a gap is read from the
   * log store).
   */
  private async forwardBatch(batch: Pending[]): Promise<void> {
    const relay = this.relay as CommitRelay;
    const commits = batch.map((pending) => relayedCommitOf(pending.request, this.state));
    for (const { request } of batch) this.forwarded.set(request.txId, undefined);
    try {
      let outcomes: RelayedOutcome[];
      try {
        outcomes = await relay.forward(commits);
      } catch (error) {
        if (isOrdoError(error, 'RELAY_FENCED')) return await this.settleFenced(batch);
        if (isOrdoError(error, 'LOG_STORE_FAILED') && error.outcome === 'not-written') {
          // The leader took none of them: they go to the log store from here.
          this.forwardRefused = true;
          this.queue.unshift(...batch);
          return;
        }
        for (const pending of batch) pending.reject(error);
        this.catchUpWanted = true;
        return;
      }
      const newest = Math.max(0, ...outcomes.map((outcome) => (outcome.type === 'committed' || outcome.type === 'replayed' ? outcome.position : 0)));
      // Reads older than the leader's clock (it came to lead after them): the rerun must start
      // from a newer state than this one, or it is refused again for the same reason.
      if (outcomes.some(isUnchecked)) await this.tryCatchUp();
      if (this.state.position < newest && !(await this.tryCatchUp())) {
        // Committed, but not readable here now: the caller cannot be told more than that.
        for (const pending of batch) pending.reject(new LogStoreError({ store: this.log.name, message: 'forwarded commits were decided, but their records could not be read back', outcome: 'unknown' }));
        return;
      }
      batch.forEach((pending, index) => {
        const outcome = outcomes[index];
        if (outcome === undefined) pending.reject(new InternalError(`the leader answered ${outcomes.length} of ${batch.length} forwarded commits`));
        else if (outcome.type === 'declined') {
          // The leader could not check it: it goes to the log store from here.
          this.forwardRefused = true;
          this.queue.unshift(pending);
        } else if (outcome.type === 'conflict') pending.resolve(outcome);
        else if (outcome.type === 'replayed') pending.resolve({ type: 'replayed', outcome: requestOutcome(outcome.position, outcome.txId, outcome.result) });
        else {
          const folded = this.forwarded.get(pending.request.txId);
          if (folded?.record.position === outcome.position) pending.resolve({ type: 'committed', record: folded.record, changes: folded.changes });
          else pending.reject(new InternalError(`the leader committed ${pending.request.txId} at ${outcome.position}, the log holds it elsewhere`));
        }
      });
    } finally {
      for (const { request } of batch) this.forwarded.delete(request.txId);
    }
  }

  /**
   * The link to a fenced leader broke with commits there: each is in the log by now or never
   * will be. Reading the log to its head tells which; the others are committed again.
   */
  private async settleFenced(batch: Pending[]): Promise<void> {
    try {
      await this.readNewRecords();
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      this.catchUpWanted = true;
      return;
    }
    const again: Pending[] = [];
    for (const pending of batch) {
      const folded = this.forwarded.get(pending.request.txId);
      if (folded === undefined) again.push(pending);
      else pending.resolve({ type: 'committed', record: folded.record, changes: folded.changes });
    }
    this.queue.unshift(...again);
  }

  private foldAll(records: readonly LogRecord[], prepared: readonly (readonly EntityChange[] | undefined)[]): EntityChange[][] {
    const changes = records.map((record, index) => this.state.fold(record, prepared[index]));
    this.followers.folded(records);
    return changes;
  }

  /**
   * Only a broken invariant gets here (a fold that failed half-way): the state can no longer be
   * trusted, so the store stops writing.
   */
  private fail(error: unknown): void {
    this.failure = error instanceof Error ? error : new InternalError(String(error));
    this.rejectQueued(this.failure);
  }

  private rejectQueued(error: unknown): void {
    for (const pending of this.queue.splice(0)) pending.reject(error);
    for (const waiter of this.catchUpWaiters.splice(0)) waiter.reject(error);
  }
}

/** A commit another process relayed, as the sequencer queues it. */
function relayedRequest(commit: RelayedCommit): CommitRequest {
  const { txId, base, requestId, operation, result, meta } = commit;
  return { txId, base, reads: new RelayedReads(commit), changes: [], relayed: commit, requestId, operation, result, meta };
}

function relayedOutcome(outcome: CommitOutcome): RelayedOutcome {
  if (outcome.type === 'committed') return { type: 'committed', position: outcome.record.position };
  if (outcome.type === 'conflict') return { type: 'conflict', conflicts: outcome.conflicts };
  const { position, txId, result } = outcome.outcome;
  return result === undefined ? { type: 'replayed', position, txId } : { type: 'replayed', position, txId, result };
}

function notLeading(store: string): LogStoreError {
  return new LogStoreError({ store, message: 'this process does not lead the commit relay (any more): nothing was written', outcome: 'not-written' });
}

function isUnchecked(outcome: RelayedOutcome): boolean {
  return outcome.type === 'conflict' && outcome.conflicts.some((conflict) => conflict.kind === uncheckedReadsKind);
}
