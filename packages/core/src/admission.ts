import { assert, InternalError, type EntityRef } from './errors.js';
import { deepFreeze } from './freeze.js';
import type { EntityType } from './entity-type.js';
import { fieldValue } from './kind-state.js';
import type { RelayedCommit } from './commit-relay.js';
import { ReadSet, Touched, type ReadCheck } from './read-set.js';
import type { Change, Entity, JsonObject, JsonValue, LogRecord } from './record.js';
import type { EntityChange, RequestOutcome, State } from './state.js';

/** A transaction that finished its function and asks to commit. */
export interface CommitRequest {
  readonly txId: string;
  /** The position the transaction started at. */
  readonly base: number;
  readonly reads: ReadCheck;
  /** Unused for a relayed commit (`relayed`), whose changes are in their stored form already. */
  readonly changes: readonly EntityChange[];
  /** Set when another process relayed this commit to this store, which leads (see commit-relay.ts). */
  readonly relayed?: RelayedCommit | undefined;
  readonly requestId?: string | undefined;
  readonly operation?: string | undefined;
  readonly result?: JsonValue | undefined;
  readonly meta?: JsonObject | undefined;
}

/** Why a request of a batch gets no record: its requestId is known already, or its reads are stale. */
export type Refusal =
  | { readonly type: 'replayed'; readonly outcome: RequestOutcome }
  | { readonly type: 'conflict'; readonly conflicts: readonly EntityRef[] };

/** What admission answers a relayed commit it cannot check (see `RelayedOutcome`). */
export interface Declined {
  readonly type: 'declined';
}

/** What admission decided for a batch: one record per accepted item, in order, and the rest. */
export interface Admission<Item> {
  /** The records to append, positions from the state's head + 1 on, without a gap. */
  readonly records: LogRecord[];
  /** The accepted items; `accepted[index]` wrote `records[index]`. */
  readonly accepted: Item[];
  readonly refused: { readonly item: Item; readonly refusal: Refusal | Declined }[];
  /** `prepared[index]` are the images of `records[index]`'s changes for the fold, if this store built them. */
  readonly prepared: (readonly EntityChange[] | undefined)[];
  /** Relayed requests whose data this code cannot read (I6): refused with the error folding would throw. */
  readonly failed: { readonly item: Item; readonly error: unknown }[];
  /**
   * Requests with a requestId an earlier request of the batch carries (several processes sent
   * one request at once): they wait for the next batch, where the first one's outcome is known
   * and they are answered as its replays.
   */
  readonly deferred: Item[];
}

/**
 * Decides which requests of a batch may commit, as if they ran one by one in batch order
 * (I5, I7): a request whose requestId the state knows is refused as a replay; a request whose
 * reads no longer hold in the state, or that an earlier request of the batch wrote over, is
 * refused as a conflict; every other request gets the next record. Pure: it reads the state
 * and changes nothing but the records it builds, so a batch the log store rejects leaves no
 * trace. Items are whatever the caller queues (`item.request` is the request).
 */
export function admitBatch<Item extends { readonly request: CommitRequest }>(state: State, batch: readonly Item[], time: number): Admission<Item> {
  const touched = new Touched();
  const admission: Admission<Item> = { records: [], accepted: [], refused: [], prepared: [], failed: [], deferred: [] };
  const { records } = admission;
  // Requests of several processes can carry one requestId in one batch: the first one counts.
  const requestIds = new Set<string>();
  for (const item of batch) {
    const { request } = item;
    const replay = request.requestId === undefined ? undefined : state.requests.get(request.requestId);
    if (replay !== undefined) {
      admission.refused.push({ item, refusal: { type: 'replayed', outcome: replay } });
      continue;
    }
    if (request.requestId !== undefined && requestIds.has(request.requestId)) {
      admission.deferred.push(item);
      continue;
    }
    if (request.relayed !== undefined && !checkable(request.relayed, state)) {
      admission.refused.push({ item, refusal: { type: 'declined' } });
      continue;
    }
    const conflicts = request.reads.conflicts(state, touched);
    const position = state.position + records.length + 1;
    let images = request.changes;
    if (conflicts.length === 0 && request.relayed !== undefined) {
      try {
        images = relayedImages(request.relayed, state, touched, conflicts);
      } catch (error) {
        admission.failed.push({ item, error });
        continue;
      }
    }
    if (conflicts.length > 0) {
      admission.refused.push({ item, refusal: { type: 'conflict', conflicts } });
      continue;
    }
    records.push(request.relayed === undefined ? buildRecord(request, position, time, state) : relayedRecord(request.relayed, position, time, state));
    admission.accepted.push(item);
    // A relayed commit's images are previews: the fold builds and freezes its own.
    admission.prepared.push(request.relayed === undefined ? images : undefined);
    if (request.requestId !== undefined) requestIds.add(request.requestId);
    addTouched(touched, images, state);
  }
  return admission;
}

/**
 * Whether this store can check a relayed commit: every value it looked up is of a field this
 * store's type indexes (unique or not), so that the touch clock and `Touched` know its changes.
 * Entities by id and lists of a kind need no type.
 */
function checkable(commit: RelayedCommit, state: State): boolean {
  for (const [kind, field] of commit.values) {
    const type = state.types.get(kind);
    if (type === undefined || !(type.unique.includes(field) || type.index.includes(field))) return false;
  }
  return true;
}

/**
 * A relayed commit's changes with the images they would have now. A change that does not
 * continue the entity as the state holds it (its reads passed, so only a writer that did not
 * read what it wrote, a create of an id that exists, gets here) is a conflict.
 */
function relayedImages(commit: RelayedCommit, state: State, touched: Touched, conflicts: EntityRef[]): EntityChange[] {
  const images = commit.changes.map((change) => state.previewImages(change, commit.marks));
  for (const [index, { kind, id, before }] of images.entries()) {
    const { version, op } = commit.changes[index] as Change;
    const continues = op === 'create' ? before === undefined : before !== undefined && before.version + 1 === version;
    if (!continues || touched.hasEntity(kind, id)) conflicts.push({ kind, id });
  }
  return images;
}

/**
 * What a follower relays to the leader for a commit of its own (see `RelayedCommit`): its
 * reads as keys, its changes and schema marks as its record would hold them.
 */
export function relayedCommitOf(request: CommitRequest, state: State): RelayedCommit {
  if (!(request.reads instanceof ReadSet)) throw new InternalError('only a commit of this store is relayed');
  const changes = request.changes.map((change) => toChange(change, state.types.get(change.kind)));
  let marks: Record<string, string> | undefined;
  for (const { kind, after } of request.changes) {
    const type = state.types.get(kind);
    if (after !== undefined && type !== undefined) (marks ??= {})[kind] = writerMark(type);
  }
  const commit: { -readonly [Key in keyof RelayedCommit]: RelayedCommit[Key] } = { txId: request.txId, base: request.base, ...request.reads.keys(), changes };
  if (marks !== undefined) commit.marks = marks;
  if (request.requestId !== undefined) commit.requestId = request.requestId;
  if (request.operation !== undefined) commit.operation = request.operation;
  if (request.result !== undefined) commit.result = request.result;
  if (request.meta !== undefined) commit.meta = request.meta;
  return commit;
}

/** The record of a relayed commit: the follower's changes, the leader's position, time and mark check. */
function relayedRecord(commit: RelayedCommit, position: number, time: number, state: State): LogRecord {
  const record: { -readonly [Key in keyof LogRecord]: LogRecord[Key] } = { position, txId: commit.txId, time, changes: commit.changes };
  let schemas: Record<string, string> | undefined;
  for (const [kind, mark] of Object.entries(commit.marks ?? {})) if (state.kindState(kind).mark !== mark) (schemas ??= {})[kind] = mark;
  if (schemas !== undefined) record.schemas = schemas;
  if (commit.requestId !== undefined) record.requestId = commit.requestId;
  if (commit.operation !== undefined) record.operation = commit.operation;
  if (commit.result !== undefined) record.result = commit.result;
  if (commit.meta !== undefined) record.meta = commit.meta;
  return deepFreeze(record);
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
    const mark = writerMark(type);
    if (state.kindState(kind).mark !== mark) (marks ??= {})[kind] = mark;
  }
  return marks;
}

/** The mark a writer of `type` vouches with: its fingerprint, or none it can vouch for when it writes an older version. */
function writerMark(type: EntityType): string {
  return type.writeVersion === type.version ? type.fingerprint : `${type.writeVersion}:unverified`;
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
