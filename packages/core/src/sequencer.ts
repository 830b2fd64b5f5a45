import { assert, foldRefusalCodes, InternalError, isOrdoError, StoreClosedError, type EntityRef } from './errors.js';
import { deepFreeze } from './freeze.js';
import { fieldValue } from './kind-state.js';
import type { LogStore } from './log-store.js';
import { Touched, type ReadSet } from './read-set.js';
import type { Change, Entity, JsonObject, JsonValue, LogRecord } from './record.js';
import type { EntityType } from './entity-type.js';
import type { EntityChange, RequestOutcome, State } from './state.js';

/** A transaction that finished its function and asks to commit. */
export interface CommitRequest {
  readonly txId: string;
  readonly reads: ReadSet;
  readonly changes: readonly EntityChange[];
  readonly requestId?: string | undefined;
  readonly operation?: string | undefined;
  readonly result?: JsonValue | undefined;
  readonly meta?: JsonObject | undefined;
}

export type CommitOutcome =
  | { readonly type: 'committed'; readonly record: LogRecord; readonly changes: readonly EntityChange[] }
  | { readonly type: 'conflict'; readonly conflicts: readonly EntityRef[] }
  | { readonly type: 'replayed'; readonly outcome: RequestOutcome };

interface Pending {
  readonly request: CommitRequest;
  resolve(outcome: CommitOutcome): void;
  reject(error: unknown): void;
}

export interface SequencerHooks {
  /**
   * Called synchronously after records were folded into the state, in order. Records read
   * back from the log store are not frozen yet: freeze them before handing them out.
   */
  folded(records: readonly LogRecord[]): void;
}

/** Most records in one append. Bounds the work between two acknowledgements. */
export const batchRecordsMax = 2048;
/** Most records read per call while catching up. */
export const catchUpRecordsMax = 4096;

/**
 * Serializes commits (I1, I2). Requests queue up while an append is in flight and go to the
 * log store together (group commit). Each request's read set is validated against the
 * folded state and against the writes of earlier requests in the same batch (I5), so a batch
 * is exactly the serial history of its requests. Records are folded into the state only after
 * the log store acknowledged them (I4). Catch-up reads of records appended by other writers
 * run in the same loop, so the state changes in one place only.
 */
export class Sequencer {
  private readonly queue: Pending[] = [];
  private running = false;
  private catchUpWanted = false;
  private catchUpWaiters: { resolve(): void; reject(error: unknown): void }[] = [];
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => undefined;
  /** Set when the store can no longer tell what the log holds; every later commit fails with it. */
  failure: Error | undefined = undefined;

  constructor(
    private readonly state: State,
    private readonly log: LogStore,
    private readonly clock: () => number,
    private readonly hooks: SequencerHooks,
  ) {}

  submit(request: CommitRequest): Promise<CommitOutcome> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.schedule();
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

  /** Another writer may have appended: catch up before the next batch. */
  wake(): void {
    this.catchUpWanted = true;
    this.schedule();
  }

  /** Lets the append in flight settle, then rejects what is still queued. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle;
    for (const pending of this.queue.splice(0)) pending.reject(new StoreClosedError());
    for (const waiter of this.catchUpWaiters.splice(0)) waiter.reject(new StoreClosedError());
  }

  private schedule(): void {
    if (this.running || this.closed) return;
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
      }
    } catch (error) {
      // Only a broken invariant gets here (a fold that failed half-way): the state can no
      // longer be trusted, so the store stops writing.
      this.failure = error instanceof Error ? error : new InternalError(String(error));
      this.rejectQueued(this.failure);
    } finally {
      this.running = false;
      this.markIdle();
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
      if (isOrdoError(error, 'INTERNAL') || (isOrdoError(error) && foldRefusalCodes.includes(error.code))) throw error;
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
        for (const record of records) this.state.replay(record);
        this.hooks.folded(records);
      }
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error);
      throw error;
    }
    for (const waiter of waiters) waiter.resolve();
  }

  private async commitBatch(batch: Pending[]): Promise<void> {
    const touched = new Touched();
    const accepted: Pending[] = [];
    const records: LogRecord[] = [];
    const time = this.clock();
    for (const pending of batch) {
      const { request } = pending;
      const replay = request.requestId === undefined ? undefined : this.state.requests.get(request.requestId);
      if (replay !== undefined) {
        pending.resolve({ type: 'replayed', outcome: replay });
        continue;
      }
      const conflicts = request.reads.conflicts(this.state, touched);
      if (conflicts.length > 0) {
        pending.resolve({ type: 'conflict', conflicts });
        continue;
      }
      records.push(buildRecord(request, this.state.position + records.length + 1, time, this.state));
      accepted.push(pending);
      addTouched(touched, request.changes, this.state);
    }
    if (records.length === 0) return;
    try {
      await this.log.append(records);
    } catch (error) {
      if (isOrdoError(error, 'LOG_HEAD_MOVED')) {
        // Another writer got there first: fold its records, then validate these requests again.
        this.queue.unshift(...accepted);
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
    this.hooks.folded(records);
    return changes;
  }

  private rejectQueued(error: unknown): void {
    for (const pending of this.queue.splice(0)) pending.reject(error);
    for (const waiter of this.catchUpWaiters.splice(0)) waiter.reject(error);
  }
}

function buildRecord(request: CommitRequest, position: number, time: number, state: State): LogRecord {
  const record: { -readonly [Key in keyof LogRecord]: LogRecord[Key] } = {
    position,
    txId: request.txId,
    time,
    changes: Object.freeze(request.changes.map((change) => toChange(change, state.types.get(change.kind)))),
  };
  const schemas = schemaMarks(request.changes, state);
  if (schemas !== undefined) record.schemas = schemas;
  if (request.requestId !== undefined) record.requestId = request.requestId;
  if (request.operation !== undefined) record.operation = request.operation;
  if (request.result !== undefined) record.result = deepFreeze(request.result);
  if (request.meta !== undefined) record.meta = deepFreeze(request.meta);
  return Object.freeze(record);
}

function toChange(change: EntityChange, type: EntityType | undefined): Change {
  const { kind, id, op, before, after } = change;
  if (after === undefined) {
    assert(before !== undefined && op === 'delete', 'a delete needs a before image');
    return Object.freeze({ op: 'delete', kind, id, version: before.version + 1 });
  }
  assert(op !== 'delete', 'only a delete lacks an after image');
  const schemaVersion = type?.writeVersion ?? 1;
  if (schemaVersion === 1 && type?.version === 1) return Object.freeze({ op, kind, id, version: after.version, data: after.data });
  // A type that writes an older version than its own stores the form its transaction made.
  const data = schemaVersion === type?.version ? after.data : type?.storedFormOf(after.data);
  assert(data !== undefined, `${kind} ${id}: no stored form for version ${schemaVersion}`);
  return Object.freeze(schemaVersion === 1 ? { op, kind, id, version: after.version, data } : { op, kind, id, version: after.version, data, schemaVersion });
}

/**
 * The schema marks a record carries: its writer's fingerprint for each kind it writes data of
 * whose mark in the log is another (see `LogRecord.schemas`). A type that writes an older
 * version vouches for no schema of that version, so readers of it check what it wrote.
 */
function schemaMarks(changes: readonly EntityChange[], state: State): Record<string, string> | undefined {
  let marks: Record<string, string> | undefined;
  for (const { kind, after } of changes) {
    const type = state.types.get(kind);
    if (after === undefined || type === undefined) continue;
    const mark = type.writeVersion === type.version ? type.fingerprint : `${type.writeVersion}:unverified`;
    if (state.kindState(kind).mark !== mark) (marks ??= {})[kind] = mark;
  }
  return marks;
}

/** Records what a change invalidates for later requests of the same batch. */
function addTouched(touched: Touched, changes: readonly EntityChange[], state: State): void {
  for (const { kind, id, before, after } of changes) {
    touched.entity(kind, id);
    const type = state.types.get(kind);
    if (type === undefined) continue;
    for (const field of type.unique) touchValues(touched, kind, field, before, after);
    for (const field of type.index) touchValues(touched, kind, field, before, after);
  }
}

function touchValues(touched: Touched, kind: string, field: string, before: Entity | undefined, after: Entity | undefined): void {
  if (before !== undefined) touched.value(kind, field, fieldValue(before, field));
  if (after !== undefined) touched.value(kind, field, fieldValue(after, field));
}
