import { assert, type EntityRef } from './errors.js';
import { deepFreeze } from './freeze.js';
import { fieldValue } from './kind-state.js';
import { Touched, type ReadSet } from './read-set.js';
import type { Change, Entity, JsonObject, JsonValue, LogRecord } from './record.js';
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

/** Why a request of a batch gets no record: its requestId is known already, or its reads are stale. */
export type Refusal =
  | { readonly type: 'replayed'; readonly outcome: RequestOutcome }
  | { readonly type: 'conflict'; readonly conflicts: readonly EntityRef[] };

/** What admission decided for a batch: one record per accepted item, in order, and the rest. */
export interface Admission<Item> {
  /** The records to append, positions from the state's head + 1 on, without a gap. */
  readonly records: LogRecord[];
  /** The accepted items; `accepted[index]` wrote `records[index]`. */
  readonly accepted: Item[];
  readonly refused: { readonly item: Item; readonly refusal: Refusal }[];
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
  const admission: Admission<Item> = { records: [], accepted: [], refused: [] };
  const { records } = admission;
  for (const item of batch) {
    const { request } = item;
    const replay = request.requestId === undefined ? undefined : state.requests.get(request.requestId);
    if (replay !== undefined) {
      admission.refused.push({ item, refusal: { type: 'replayed', outcome: replay } });
      continue;
    }
    const conflicts = request.reads.conflicts(state, touched);
    if (conflicts.length > 0) {
      admission.refused.push({ item, refusal: { type: 'conflict', conflicts } });
      continue;
    }
    records.push(buildRecord(request, state.position + records.length + 1, time));
    admission.accepted.push(item);
    addTouched(touched, request.changes, state);
  }
  return admission;
}

function buildRecord(request: CommitRequest, position: number, time: number): LogRecord {
  const record: { -readonly [Key in keyof LogRecord]: LogRecord[Key] } = {
    position,
    txId: request.txId,
    time,
    changes: Object.freeze(request.changes.map(toChange)),
  };
  if (request.requestId !== undefined) record.requestId = request.requestId;
  if (request.operation !== undefined) record.operation = request.operation;
  if (request.result !== undefined) record.result = deepFreeze(request.result);
  if (request.meta !== undefined) record.meta = deepFreeze(request.meta);
  return Object.freeze(record);
}

function toChange(change: EntityChange): Change {
  const { kind, id, op, before, after } = change;
  if (after === undefined) {
    assert(before !== undefined && op === 'delete', 'a delete needs a before image');
    return Object.freeze({ op: 'delete', kind, id, version: before.version + 1 });
  }
  assert(op !== 'delete', 'only a delete lacks an after image');
  return Object.freeze({ op, kind, id, version: after.version, data: after.data });
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
