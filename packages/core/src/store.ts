import type { EntityType } from './entity-type.js';
import {
  assert,
  ConflictError,
  InvalidArgumentError,
  StoreClosedError,
  UnknownEntityTypeError,
  type EntityRef,
} from './errors.js';
import { deepFreeze } from './freeze.js';
import type { LogOpenResult, LogStore } from './log-store.js';
import type { JsonObject, JsonValue, LogRecord } from './record.js';
import { Sequencer, type CommitOutcome } from './sequencer.js';
import { loadSnapshot, toSnapshot } from './snapshot-codec.js';
import { State, type EntityChange, type RequestOutcome } from './state.js';
import { dumpState, type StateDump } from './state-dump.js';
import { jsonMeta, Transaction, type EntityOf, type Where } from './transaction.js';
import { monotonicUlids } from './ulid-source.js';
import { runtimeEntityTypes } from './runtime/runtime-entities.js';
import { Watcher, type WatchOptions } from './watch.js';

/** Reruns of a conflicting transaction, unless the call says otherwise. */
export const retriesDefault = 20;
/** The most reruns a caller may ask for. */
export const retriesMax = 10_000;
/** The most records one `store.read` returns. */
export const readRecordsMax = 10_000;
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
  /** Default reruns of a conflicting transaction (0..retriesMax). Default: retriesDefault. */
  readonly retries?: number;
  /** Errors of background work (automatic snapshots). Default: console.warn. */
  readonly onBackgroundError?: (error: unknown) => void;
}

export interface TransactOptions {
  /** Idempotency key: a requestId already in the log returns the first outcome and runs nothing (I7). */
  readonly requestId?: string;
  /** Reruns on conflict before ConflictError (0..retriesMax). */
  readonly retries?: number;
  /** Operation name stored in the record. */
  readonly operation?: string;
  /** JSON metadata stored in the record. */
  readonly meta?: JsonObject;
}

export interface TransactResult<Value> {
  readonly value: Value;
  /** The record's position; for a read-only transaction, the position it read at. */
  readonly position: number;
  readonly txId: string;
  /** True when the requestId was already in the log and this call ran nothing. */
  readonly replayed: boolean;
  /** The committed changes with before and after images (empty for a replay or a read-only run). */
  readonly changes: readonly EntityChange[];
}

export type TransactionFunction<Value> = (tx: Transaction) => Value | Promise<Value>;

export interface Store {
  /** The head folded into this store's state. */
  readonly position: number;
  transact<Value>(fn: TransactionFunction<Value>, options?: TransactOptions): Promise<TransactResult<Value>>;
  get<Type extends EntityType>(type: Type, id: string): EntityOf<Type> | undefined;
  find<Type extends EntityType>(type: Type, where: Where<Type>): EntityOf<Type>[];
  list<Type extends EntityType>(type: Type): EntityOf<Type>[];
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
  /** Folds every record the log store holds now (a catch-up on a shared log). */
  sync(): Promise<void>;
  watch(options?: WatchOptions): AsyncIterableIterator<LogRecord>;
  /** Writes a snapshot of the current state through the log store; returns its position. */
  snapshot(): Promise<number>;
  /** A canonical picture of the state, for comparing two stores (I3). */
  dump(): StateDump;
  /** The registered entity type of a kind, for layers that work by kind name (the operation runtime). */
  entityType(kind: string): EntityType | undefined;
  close(): Promise<void>;
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const types = registerTypes(options.entities);
  const retries = checkRetries(options.retries ?? retriesDefault);
  const { log } = options;
  let opened: LogOpenResult;
  try {
    opened = await log.open();
  } catch (error) {
    // What a log store took before its open failed (a connection pool, a lock) is released:
    // the caller may try again with a new one, as a process on a flaky network would.
    await log.close().catch(() => undefined);
    throw error;
  }
  try {
    const state = opened.snapshot === undefined ? new State(types) : loadSnapshot(opened.snapshot, types);
    const store = new OrdoStore(state, log, options, retries);
    await store.sync();
    return store;
  } catch (error) {
    await log.close();
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

/** The transaction's value as JSON, stored so that a replay can return it. */
function toResult(value: unknown): JsonValue | undefined {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(JSON.stringify(value)) as JsonValue;
  } catch (error) {
    throw new InvalidArgumentError('result', `a transaction with a requestId must return JSON data: ${String(error)}`);
  }
}

class OrdoStore implements Store {
  private readonly sequencer: Sequencer;
  private readonly ids: () => string;
  private readonly watchers = new Set<Watcher>();
  private readonly inflight = new Map<string, Promise<TransactResult<unknown>>>();
  private readonly unsubscribe: () => void;
  private readonly onBackgroundError: (error: unknown) => void;
  private closed = false;
  private snapshotAt: number;
  private snapshotting: Promise<unknown> | undefined;

  constructor(
    private readonly state: State,
    private readonly log: LogStore,
    options: OpenStoreOptions,
    private readonly retries: number,
  ) {
    this.ids = options.ids ?? monotonicUlids();
    this.onBackgroundError = options.onBackgroundError ?? ((error) => console.warn('ordo: background work failed:', error));
    this.snapshotAt = state.position;
    this.sequencer = new Sequencer(state, log, options.clock ?? Date.now, { folded: (records) => this.folded(records) });
    this.unsubscribe = log.subscribe((head) => {
      if (head > this.state.position) this.sequencer.wake();
    });
  }

  get position(): number {
    return this.state.position;
  }

  async transact<Value>(fn: TransactionFunction<Value>, options: TransactOptions = {}): Promise<TransactResult<Value>> {
    this.checkOpen();
    if (typeof fn !== 'function') throw new InvalidArgumentError('fn', 'transact needs a function');
    const retries = checkRetries(options.retries ?? this.retries);
    checkKey('requestId', options.requestId);
    checkKey('operation', options.operation);
    const { requestId } = options;
    if (requestId === undefined) return this.run(fn, options, retries);
    const done = this.outcome(requestId);
    if (done !== undefined) return replayResult<Value>(done);
    const running = this.inflight.get(requestId);
    if (running !== undefined) {
      // The same request is running in this process: its outcome is this call's outcome.
      const first = await running.catch(() => undefined);
      if (first !== undefined) return { ...(first as TransactResult<Value>), replayed: true, changes: [] };
      return this.transact(fn, options);
    }
    const promise = this.run(fn, options, retries);
    this.inflight.set(requestId, promise);
    try {
      return await promise;
    } finally {
      this.inflight.delete(requestId);
    }
  }

  private async run<Value>(fn: TransactionFunction<Value>, options: TransactOptions, retries: number): Promise<TransactResult<Value>> {
    let conflicts: readonly EntityRef[] = [];
    for (let attempt = 0; attempt <= retries; attempt += 1) {
      this.checkOpen();
      const tx = new Transaction(this.state, this.ids);
      let value: Value;
      try {
        const returned = fn(tx);
        value = isThenable(returned) ? await returned : returned;
      } catch (error) {
        tx.finish();
        // An error decided on reads that have changed since may be an artefact: run again.
        conflicts = await this.staleReads(tx);
        if (conflicts.length > 0) continue;
        throw error;
      }
      tx.finish();
      const outcome = await this.commit(tx, value, options);
      if (outcome.type === 'conflict') {
        conflicts = outcome.conflicts;
        continue;
      }
      return outcome.type === 'replayed'
        ? replayResult<Value>(outcome.outcome)
        : { value, position: outcome.record.position, txId: outcome.record.txId, replayed: false, changes: outcome.changes };
    }
    throw new ConflictError({ conflicts, attempts: retries + 1 });
  }

  /** Read-set entries that no longer hold, after catching up with other writers when there are any. */
  private async staleReads(tx: Transaction): Promise<readonly EntityRef[]> {
    if (this.log.multiWriter && tx.reads.size > 0) await this.sequencer.catchUp();
    return tx.reads.conflicts(this.state);
  }

  private commit(tx: Transaction, value: unknown, options: TransactOptions): Promise<CommitOutcome | ReadOnlyOutcome> {
    const given = options.meta === undefined ? undefined : jsonMeta(options.meta);
    const meta = given === undefined ? tx.meta : tx.meta === undefined ? given : { ...given, ...tx.meta };
    if (!tx.hasWrites && options.requestId === undefined && meta === undefined) return this.readOnlyOutcome(tx);
    return this.sequencer.submit({
      txId: this.ids(),
      reads: tx.reads,
      changes: tx.pendingChanges(),
      requestId: options.requestId,
      operation: options.operation,
      result: options.requestId === undefined ? undefined : toResult(value),
      meta,
    });
  }

  /** A read-only transaction writes no record: it is serialized at the position it validates at. */
  private async readOnlyOutcome(tx: Transaction): Promise<CommitOutcome | ReadOnlyOutcome> {
    const conflicts = await this.staleReads(tx);
    if (conflicts.length > 0) return { type: 'conflict', conflicts };
    return { type: 'committed', record: { position: this.state.position, txId: this.ids() }, changes: [] };
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
    return this.readLog(from, limit);
  }

  async sync(): Promise<void> {
    this.checkOpen();
    await this.sequencer.catchUp();
  }

  watch(options: WatchOptions = {}): AsyncIterableIterator<LogRecord> {
    this.checkOpen();
    const state = this.state;
    const watcher = new Watcher(
      {
        read: (from, limit) => this.readLog(from, limit),
        detach: (detached) => this.watchers.delete(detached),
        get position() {
          return state.position;
        },
      },
      options,
    );
    this.watchers.add(watcher);
    return watcher;
  }

  async snapshot(): Promise<number> {
    this.checkOpen();
    if (this.log.writeSnapshot === undefined) throw new InvalidArgumentError('log', `the ${this.log.name} log store keeps no snapshots`);
    await this.snapshotting?.catch(() => undefined);
    return this.writeSnapshot();
  }

  dump(): StateDump {
    return dumpState(this.state);
  }

  entityType(kind: string): EntityType | undefined {
    return this.state.types.get(kind);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sequencer.close();
    this.unsubscribe();
    for (const watcher of this.watchers) watcher.end();
    this.watchers.clear();
    await this.snapshotting?.catch(() => undefined);
    await this.log.close();
  }

  private async readLog(from: number, limit: number): Promise<LogRecord[]> {
    const records = await this.log.read(from, limit);
    records.forEach((record, index) => assert(record.position === from + index, `log store read ${record.position} for ${from + index}`));
    return records.map((record) => deepFreeze(record));
  }

  private folded(records: readonly LogRecord[]): void {
    if (this.watchers.size > 0) {
      for (const record of records) deepFreeze(record);
      for (const watcher of this.watchers) watcher.offer(records);
    }
    const every = this.log.snapshotEvery;
    if (every !== undefined && this.snapshotting === undefined && this.state.position - this.snapshotAt >= every) {
      this.snapshotting = this.writeSnapshot()
        .catch((error: unknown) => this.onBackgroundError(error))
        .finally(() => (this.snapshotting = undefined));
    }
  }

  private async writeSnapshot(): Promise<number> {
    const snapshot = toSnapshot(this.state);
    assert(this.log.writeSnapshot !== undefined, 'snapshot without writeSnapshot');
    await this.log.writeSnapshot(snapshot);
    this.snapshotAt = Math.max(this.snapshotAt, snapshot.position);
    return snapshot.position;
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

interface ReadOnlyOutcome {
  readonly type: 'committed';
  readonly record: { readonly position: number; readonly txId: string };
  readonly changes: readonly EntityChange[];
}

function replayResult<Value>(outcome: RequestOutcome): TransactResult<Value> {
  return { value: outcome.result as Value, position: outcome.position, txId: outcome.txId, replayed: true, changes: [] };
}

