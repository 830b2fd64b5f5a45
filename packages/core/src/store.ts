import type { EntityType } from './entity-type.js';
import {
  ConflictError,
  InvalidArgumentError,
  ResultNotJsonError,
  StoreClosedError,
  UnknownEntityTypeError,
  type EntityRef,
} from './errors.js';
import { FoldFollowers } from './fold-followers.js';
import type { LogOpenResult, LogStore } from './log-store.js';
import type { JsonObject, JsonValue, LogRecord } from './record.js';
import type { CommitRelay } from './commit-relay.js';
import { Sequencer, type CommitOutcome, type CommitTurn } from './sequencer.js';
import { loadSnapshot } from './snapshot-codec.js';
import { State, type EntityChange, type RequestOutcome } from './state.js';
import type { Telemetry, TelemetryAttributes } from './telemetry.js';
import { dumpState, type StateDump } from './state-dump.js';
import { migrateEntities, type MigrateOptions } from './migrate-entities.js';
import { plainJsonCopy } from './json-data.js';
import { jsonMeta, Transaction, type EntityOf, type Where } from './transaction.js';
import { monotonicUlids } from './ulid-source.js';
import { runtimeEntityTypes } from './runtime/runtime-entities.js';
import type { WatchOptions } from './watch.js';

/** Reruns of a conflicting transaction, unless the call says otherwise. */
export const retriesDefault = 20;
/** Conflicts after which a transaction runs again in a commit turn (see `Sequencer.turn`). */
export const conflictsBeforeTurn = 2;
/** The most reruns a caller may ask for. */
export const retriesMax = 10_000;
/** The most records one `store.read` returns. */
export const readRecordsMax = 10_000;
/**
 * Most commits waiting for the next append, unless `queuedCommitsMax` says otherwise. Far
 * above what group commit queues under load (a batch takes up to 2,048): reaching it means
 * the log store stopped keeping up, and waiting longer would only grow memory.
 */
export const queuedCommitsDefault = 100_000;
/** Longest requestId, operation name and explicit id. */
const keyLengthMax = 256;

export interface OpenStoreOptions {
  /** Every entity type this store reads or writes. */
  readonly entities: readonly EntityType[];
  readonly log: LogStore;
  /** Source of entity and transaction ids. Default: monotonic ULIDs. */
  readonly ids?: () => string;
  /** Milliseconds since the epoch, stamped on records. Default: Date.now. */
  readonly clock?: () => number;
  /** Default reruns of a conflicting transaction, 0 to 10,000 (retriesMax). Default: 20 (retriesDefault). */
  readonly retries?: number;
  /** Errors of background work (automatic snapshots). Default: console.warn. */
  readonly onBackgroundError?: (error: unknown) => void;
  /**
   * Most commits that may wait for the next append; one more fails at once with
   * `CommitQueueFullError` (code COMMIT_QUEUE_FULL). A positive integer. Default: 100,000
   * (queuedCommitsDefault).
   */
  readonly queuedCommitsMax?: number;
  /** Told of every transaction and, through `observeLog`, every append (tracing, metrics). Default: none. */
  readonly telemetry?: Telemetry;
}

export interface TransactOptions {
  /** Idempotency key: a requestId already in the log returns the first outcome and runs nothing (I7). */
  readonly requestId?: string;
  /** Reruns on conflict before ConflictError, 0 to 10,000 (retriesMax). */
  readonly retries?: number;
  /** Operation name stored in the record. */
  readonly operation?: string;
  /** JSON metadata stored in the record. */
  readonly meta?: JsonObject;
}

/** A transaction that wrote a record: its own first run. */
export interface CommittedResult<Value> {
  readonly type: 'committed';
  readonly value: Value;
  /** The position of its record. */
  readonly position: number;
  /** The txId of its record. */
  readonly txId: string;
  readonly replayed: false;
  /** The committed changes with before and after images, in the order the transaction made them. */
  readonly changes: readonly EntityChange[];
}

/** A requestId that was known already: nothing ran, the first outcome is returned (I7). */
export interface ReplayedResult<Value> {
  readonly type: 'replayed';
  /** The first run's value: as JSON from the log, or as it was when that run is in this process. */
  readonly value: Value;
  /** The position of the first run's record. */
  readonly position: number;
  /** The txId of the first run's record. */
  readonly txId: string;
  readonly replayed: true;
  /** Always empty: this call changed nothing. */
  readonly changes: readonly EntityChange[];
}

/**
 * A transaction that wrote nothing (no write, no requestId, no meta): it wrote no record, so
 * it has no txId. It is serialized at the position it read at (I2): its reads still held there.
 */
export interface ReadOnlyResult<Value> {
  readonly type: 'read-only';
  readonly value: Value;
  /** The position its reads were validated at. */
  readonly position: number;
  readonly txId?: undefined;
  readonly replayed: false;
  /** Always empty. */
  readonly changes: readonly EntityChange[];
}

/** What a transaction with a requestId gives: it always has a record, its own or the first one. */
export type RecordedResult<Value> = CommittedResult<Value> | ReplayedResult<Value>;

/** What `transact` gives; `type` tells which. */
export type TransactResult<Value> = RecordedResult<Value> | ReadOnlyResult<Value>;

export type TransactionFunction<Value> = (tx: Transaction) => Value | Promise<Value>;

/**
 * An open store: the folded state of one log, and the way to add records to it.
 *
 * Reads (`get`, `find`, `list`, `outcome`, `dump`, `position`) are synchronous and answer from
 * this process's folded state: every record this store committed, and every record of other
 * writers it has folded so far. With several processes on one log (PostgreSQL, a shared memory
 * log), a record another process committed is folded when the log store's notification
 * arrives, which may be late; a read that must see every commit acknowledged anywhere before
 * it started calls `sync()` first, or reads inside `transact`, whose reads are validated at
 * the log's head. Entities, records and outcomes handed out are frozen and never change.
 *
 * Errors: a call on a closed store throws `StoreClosedError` (reads of the folded state keep
 * answering); a malformed argument throws `InvalidArgumentError` naming it; an entity type the
 * store was not opened with throws `UnknownEntityTypeError`. The log store's own errors
 * (`LogStoreError`, `HistoryUnavailableError`, `LogCorruptError`) pass through unchanged.
 */
export interface Store {
  /** The position of the newest record folded into this store's state (0 for an empty log). */
  readonly position: number;
  /**
   * Runs `fn` against the folded state and commits its writes as one record, atomically (I4).
   * On a conflict with a concurrent commit (I5) `fn` runs again on a fresh state, up to
   * `retries` times, then the call rejects with `ConflictError`. An error `fn` throws rejects
   * the call and writes nothing (it is rerun first when its reads changed meanwhile, since the
   * error may be an artefact of a stale read). With a `requestId` already known (`outcome`),
   * nothing runs and the first outcome comes back (I7). Resolves once the record is durable
   * in the log store (or, for a read-only run, once its reads were validated at the head).
   * Rejects with `CommitQueueFullError` when `queuedCommitsMax` commits wait already, and with
   * the log store's error when the append failed (nothing was folded then).
   */
  transact<Value>(fn: TransactionFunction<Value>, options: TransactOptions & { readonly requestId: string }): Promise<RecordedResult<Value>>;
  transact<Value>(fn: TransactionFunction<Value>, options?: TransactOptions): Promise<TransactResult<Value>>;
  /** The entity of `type` with this id in the folded state, or undefined. See above for several processes. */
  get<Type extends EntityType>(type: Type, id: string): EntityOf<Type> | undefined;
  /**
   * The entities of `type` in the folded state whose fields equal `where`, sorted by id. Every
   * field of `where` must be in `unique` or `index` (else `NotIndexedError`).
   */
  find<Type extends EntityType>(type: Type, where: Where<Type>): EntityOf<Type>[];
  /** Every entity of `type` in the folded state, sorted by id. */
  list<Type extends EntityType>(type: Type): EntityOf<Type>[];
  /**
   * Up to `limit` (1..readRecordsMax, default readRecordsMax) records from position `from`
   * (>= 1) on, in order, frozen, read from the log store: it may return records this store has
   * not folded yet, and returns an empty array past the log's head. Rejects with
   * `HistoryUnavailableError` below the first record the log store still holds.
   */
  read(range: { from: number; limit?: number }): Promise<LogRecord[]>;
  /**
   * Whether a requestId is known, and with what outcome (I7): the position and txId of the
   * record that carries it and the transaction's value as frozen JSON, or undefined when no
   * record folded into this store's state carries it. It reads this process's folded state:
   * a request committed by another process on a shared log is seen after `sync()` (or after
   * this store folded it on its own). A request still running in this process is not known
   * until its record is folded. Synchronous, no I/O; works on a closed store too. Throws
   * `InvalidArgumentError` when `requestId` is not a string `transact` would accept.
   */
  outcome(requestId: string): RequestOutcome | undefined;
  /**
   * Folds every record the log store holds now: afterwards the state includes every commit
   * acknowledged anywhere before `sync` was called. Rejects with the log store's read error
   * (the state is then only behind, never wrong).
   */
  sync(): Promise<void>;
  /**
   * Every record from `options.from` (default: the one after `position`) on, once each, in
   * order, as this store folds them (I9). Records of other writers arrive as they are folded.
   * Ends when the store closes; throws `HistoryUnavailableError` for pruned history.
   */
  watch(options?: WatchOptions): AsyncIterableIterator<LogRecord>;
  /**
   * Writes a snapshot of the folded state through the log store; resolves to its position.
   * Rejects with `SnapshotUnsupportedError` when the log store keeps no snapshots.
   */
  snapshot(): Promise<number>;
  /** A canonical picture of the folded state, for comparing two stores (I3). */
  dump(): StateDump;
  /** The registered entity type of a kind, for layers that work by kind name (the operation runtime). */
  entityType(kind: string): EntityType | undefined;
  /**
   * Rewrites every entity of `type` stored at an older schema version as ordinary updates at
   * the current one, in records of `batchEntities`; returns how many it rewrote. Resumable.
   * Afterwards (and after a snapshot, with pruning) no record needs the old migration steps.
   */
  migrate(type: EntityType, options?: MigrateOptions): Promise<number>;
  /**
   * Lets the append in flight settle, rejects queued commits with `StoreClosedError`, ends
   * watchers, waits for an automatic snapshot and closes the log store. Idempotent.
   */
  close(): Promise<void>;
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const types = registerTypes(options.entities);
  const retries = checkRetries(options.retries ?? retriesDefault);
  const queuedCommitsMax = options.queuedCommitsMax ?? queuedCommitsDefault;
  if (!Number.isSafeInteger(queuedCommitsMax) || queuedCommitsMax < 1) throw new InvalidArgumentError('queuedCommitsMax', 'must be a positive integer');
  const log = options.telemetry?.observeLog?.(options.log) ?? options.log;
  let opened: LogOpenResult;
  try {
    opened = await log.open();
  } catch (error) {
    // What a log store took before its open failed (a connection pool, a lock) is released:
    // the caller may try again with a new one, as a process on a flaky network would.
    await log.close().catch(() => undefined);
    throw error;
  }
  let store: OrdoStore | undefined;
  try {
    const state = opened.snapshot === undefined ? new State(types) : loadSnapshot(opened.snapshot, types);
    store = new OrdoStore(state, log, options, { retries, queuedCommitsMax });
    await store.sync();
    store.startRelay();
    return store;
  } catch (error) {
    // Closing the store also ends its subscription to the log store, which a shared log
    // would otherwise keep calling.
    await (store === undefined ? log.close() : store.close());
    throw error;
  }
}

function registerTypes(entities: readonly EntityType[]): Map<string, EntityType> {
  const given: unknown = entities;
  if (!Array.isArray(given)) throw new InvalidArgumentError('entities', 'must be an array of entity types');
  const types = new Map<string, EntityType>();
  for (const type of entities) {
    const candidate: unknown = type;
    if (typeof (candidate as Partial<EntityType> | undefined)?.parse !== 'function') {
      throw new InvalidArgumentError('entities', 'each item must come from defineEntity');
    }
    if (types.has(type.kind)) throw new InvalidArgumentError('entities', `kind '${type.kind}' is registered twice`);
    types.set(type.kind, type);
  }
  // The operation runtime keeps its leases, operations and holds in the log (I11).
  for (const type of runtimeEntityTypes) if (!types.has(type.kind)) types.set(type.kind, type);
  return types;
}

function checkRetries(retries: number): number {
  if (!Number.isSafeInteger(retries) || retries < 0 || retries > retriesMax) {
    const shown = typeof retries === 'number' ? String(retries) : typeof retries;
    throw new InvalidArgumentError('retries', `must be an integer from 0 to ${retriesMax}, got ${shown}`);
  }
  return retries;
}

function checkKey(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || value.length === 0 || value.length > keyLengthMax) {
    throw new InvalidArgumentError(name, `must be a non-empty string of at most ${keyLengthMax} characters`);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/** The transaction's value as JSON (a copy of its own), stored so that a replay can return it. */
function toResult(value: unknown, requestId: string): JsonValue | undefined {
  if (value === undefined) return undefined;
  try {
    return plainJsonCopy(value) as JsonValue;
  } catch (error) {
    throw new ResultNotJsonError({ requestId, reason: String(error) });
  }
}

/** What the sequencer or a read-only validation answers for one attempt of a transaction. */
type AttemptOutcome = CommitOutcome | { readonly type: 'read-only'; readonly position: number };

class OrdoStore implements Store {
  private readonly sequencer: Sequencer;
  private readonly followers: FoldFollowers;
  private readonly ids: () => string;
  private readonly retries: number;
  private readonly telemetry: Telemetry | undefined;
  /** Requests with a requestId running in this process, so that a second call waits for the first. */
  private readonly inflight = new Map<string, Promise<RecordedResult<unknown>>>();
  private readonly relay: CommitRelay | undefined;
  private closed = false;

  constructor(
    private readonly state: State,
    private readonly log: LogStore,
    options: OpenStoreOptions,
    limits: { readonly retries: number; readonly queuedCommitsMax: number },
  ) {
    this.ids = options.ids ?? monotonicUlids();
    this.retries = limits.retries;
    this.telemetry = options.telemetry;
    const onBackgroundError = options.onBackgroundError ?? ((error: unknown) => console.warn('ordo: background work failed:', error));
    this.followers = new FoldFollowers(state, log, onBackgroundError);
    // The relay is the log store's own (a telemetry wrapper of the store need not pass it on).
    this.relay = options.log.relay;
    this.sequencer = new Sequencer(state, log, this.followers, { clock: options.clock ?? Date.now, queuedCommitsMax: limits.queuedCommitsMax, relay: this.relay });
  }

  /** Connects the log store's commit relay, once the state is the log's. */
  startRelay(): void {
    const { sequencer, state } = this;
    this.relay?.start({
      get position() {
        return state.position;
      },
      admit: (commits) => sequencer.admitRelayed(commits),
      offer: (records) => sequencer.offer(records),
    });
  }

  get position(): number {
    return this.state.position;
  }

  transact<Value>(fn: TransactionFunction<Value>, options: TransactOptions & { readonly requestId: string }): Promise<RecordedResult<Value>>;
  transact<Value>(fn: TransactionFunction<Value>, options?: TransactOptions): Promise<TransactResult<Value>>;
  transact<Value>(fn: TransactionFunction<Value>, options: TransactOptions = {}): Promise<TransactResult<Value>> {
    const telemetry = this.telemetry;
    if (telemetry === undefined) return this.transactOnce(fn, options);
    const attributes = { operation: options.operation, requestId: options.requestId };
    return telemetry.step('transact', attributes, (note) => this.transactOnce(fn, options, note));
  }

  private async transactOnce<Value>(fn: TransactionFunction<Value>, options: TransactOptions, note?: Note): Promise<TransactResult<Value>> {
    this.checkOpen();
    if (typeof fn !== 'function') throw new InvalidArgumentError('fn', 'transact needs a function');
    const retries = checkRetries(options.retries ?? this.retries);
    checkKey('requestId', options.requestId);
    checkKey('operation', options.operation);
    const { requestId } = options;
    if (requestId === undefined) return this.run(fn, options, retries, note);
    const done = this.outcome(requestId);
    if (done !== undefined) {
      note?.({ replayed: true, position: done.position });
      return replayResult<Value>(done);
    }
    const running = this.inflight.get(requestId);
    if (running !== undefined) {
      // The same request is running in this process: its outcome is this call's outcome.
      const first = await running.catch(() => undefined);
      if (first === undefined) return this.transactOnce(fn, options, note);
      return { type: 'replayed', value: first.value as Value, position: first.position, txId: first.txId, replayed: true, changes: [] };
    }
    // With a requestId a record is always written (it remembers the outcome): never read-only.
    const promise = this.run(fn, options, retries, note) as Promise<RecordedResult<Value>>;
    this.inflight.set(requestId, promise);
    try {
      return await promise;
    } finally {
      this.inflight.delete(requestId);
    }
  }

  private async run<Value>(fn: TransactionFunction<Value>, options: TransactOptions, retries: number, note?: Note): Promise<TransactResult<Value>> {
    let conflicts: readonly EntityRef[] = [];
    for (let attempt = 0; attempt <= retries; attempt += 1) {
      note?.({ attempts: attempt + 1, conflicts: attempt });
      this.checkOpen();
      // A transaction that lost twice runs in a turn: no other commit lands between its reads
      // and its commit, so a read that every batch changes (a hot find) cannot starve it.
      const turn = attempt >= conflictsBeforeTurn ? await this.sequencer.turn() : undefined;
      const base = this.state.position;
      const tx = new Transaction(this.state, this.ids);
      let value: Value;
      let outcome: AttemptOutcome;
      try {
        try {
          const returned = fn(tx);
          value = isThenable(returned) ? await returned : returned;
        } catch (error) {
          tx.finish();
          turn?.release();
          // An error decided on reads that have changed since may be an artefact: run again.
          conflicts = await this.sequencer.staleReads(tx.reads);
          if (conflicts.length > 0) continue;
          throw error;
        }
        tx.finish();
        outcome = await this.attempt(tx, base, value, options, turn);
      } finally {
        turn?.release();
      }
      if (outcome.type === 'conflict') {
        conflicts = outcome.conflicts;
        continue;
      }
      const result = resultOf(outcome, value);
      note?.({ position: result.position, committed: result.type === 'committed', replayed: result.replayed });
      return result;
    }
    note?.({ conflicts: retries + 1 });
    throw new ConflictError({ conflicts, attempts: retries + 1 });
  }

  /** Commits a finished transaction through the sequencer, unless it is read-only. */
  private attempt(tx: Transaction, base: number, value: unknown, options: TransactOptions, turn: CommitTurn | undefined): Promise<AttemptOutcome> {
    const given = options.meta === undefined ? undefined : jsonMeta(options.meta);
    const meta = given === undefined ? tx.meta : tx.meta === undefined ? given : { ...given, ...tx.meta };
    if (!tx.hasWrites && options.requestId === undefined && meta === undefined) {
      turn?.release();
      return this.readOnlyAttempt(tx);
    }
    return (turn ?? this.sequencer).submit({
      txId: this.ids(),
      base,
      reads: tx.reads,
      changes: tx.pendingChanges(),
      requestId: options.requestId,
      operation: options.operation,
      result: options.requestId === undefined ? undefined : toResult(value, options.requestId),
      meta,
    });
  }

  /** A read-only transaction writes no record: it is serialized at the position its reads are validated at. */
  private async readOnlyAttempt(tx: Transaction): Promise<AttemptOutcome> {
    const conflicts = await this.sequencer.staleReads(tx.reads);
    return conflicts.length > 0 ? { type: 'conflict', conflicts } : { type: 'read-only', position: this.state.position };
  }

  outcome(requestId: string): RequestOutcome | undefined {
    checkKey('requestId', requestId);
    return this.state.requests.get(requestId);
  }

  get<Type extends EntityType>(type: Type, id: string): EntityOf<Type> | undefined {
    this.checkType(type);
    return this.state.kinds.get(type.kind)?.entities.get(id) as EntityOf<Type> | undefined;
  }

  find<Type extends EntityType>(type: Type, where: Where<Type>): EntityOf<Type>[] {
    return this.readOnly((tx) => tx.find(type, where));
  }

  list<Type extends EntityType>(type: Type): EntityOf<Type>[] {
    return this.readOnly((tx) => tx.list(type));
  }

  async read(range: { from: number; limit?: number }): Promise<LogRecord[]> {
    this.checkOpen();
    const { from, limit = readRecordsMax } = range;
    if (!Number.isSafeInteger(from) || from < 1) throw new InvalidArgumentError('from', 'must be an integer >= 1');
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > readRecordsMax) {
      throw new InvalidArgumentError('limit', `must be an integer from 1 to ${readRecordsMax}`);
    }
    return this.followers.read(from, limit);
  }

  async sync(): Promise<void> {
    this.checkOpen();
    await this.sequencer.catchUp();
  }

  watch(options: WatchOptions = {}): AsyncIterableIterator<LogRecord> {
    this.checkOpen();
    return this.followers.watch(options);
  }

  async snapshot(): Promise<number> {
    this.checkOpen();
    return this.followers.snapshot();
  }

  dump(): StateDump {
    return dumpState(this.state);
  }

  entityType(kind: string): EntityType | undefined {
    return this.state.types.get(kind);
  }

  migrate(type: EntityType, options: MigrateOptions = {}): Promise<number> {
    this.checkOpen();
    this.checkType(type);
    return migrateEntities(this, this.state.kindState(type.kind), type, options);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sequencer.close();
    await this.relay?.close();
    await this.followers.close();
    await this.log.close();
  }

  private readOnly<Value>(read: (tx: Transaction) => Value): Value {
    const tx = new Transaction(this.state, this.ids);
    try {
      return read(tx);
    } finally {
      tx.finish();
    }
  }

  private checkType(type: EntityType): void {
    if (this.state.types.get(type?.kind) === undefined) throw new UnknownEntityTypeError(String(type?.kind));
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}

function resultOf<Value>(outcome: Exclude<AttemptOutcome, { type: 'conflict' }>, value: Value): TransactResult<Value> {
  if (outcome.type === 'replayed') return replayResult<Value>(outcome.outcome);
  if (outcome.type === 'read-only') return { type: 'read-only', value, position: outcome.position, replayed: false, changes: [] };
  const { record, changes } = outcome;
  return { type: 'committed', value, position: record.position, txId: record.txId, replayed: false, changes };
}

type Note = (attributes: TelemetryAttributes) => void;

function replayResult<Value>(outcome: RequestOutcome): ReplayedResult<Value> {
  return { type: 'replayed', value: outcome.result as Value, position: outcome.position, txId: outcome.txId, replayed: true, changes: [] };
}
