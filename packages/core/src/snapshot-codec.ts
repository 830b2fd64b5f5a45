import type { EntityType } from './entity-type.js';
import { assert } from './errors.js';
import { deepFreeze } from './freeze.js';
import type { KindState } from './kind-state.js';
import type { Entity, JsonObject, Snapshot, SnapshotKindSchema } from './record.js';
import { noteStoredVersion, requestOutcome, State } from './state.js';

/**
 * The state as a snapshot. Synchronous, so it is the state at exactly one position. A
 * registered kind's rows hold its data at the type's version (migrated, checked), vouched for
 * by the type's fingerprint; a kind without a type keeps each row's stored version.
 */
export function toSnapshot(state: State): Snapshot {
  const entities: [string, string, number, Entity['data'], number?][] = [];
  const schemas: Record<string, SnapshotKindSchema> = {};
  for (const kindState of state.kinds.values()) {
    const { type, storedVersions } = kindState;
    schemas[kindState.kind] = kindSchema(kindState);
    for (const entity of kindState.entities.values()) {
      const stored = type === undefined ? storedVersions.get(entity.id) : undefined;
      if (stored === undefined) entities.push([entity.kind, entity.id, entity.version, entity.data]);
      else entities.push([entity.kind, entity.id, entity.version, entity.data, stored]);
    }
  }
  const requests: Snapshot['requests'][number][] = [];
  for (const [requestId, outcome] of state.requests) {
    requests.push(outcome.result === undefined ? [requestId, outcome.position, outcome.txId] : [requestId, outcome.position, outcome.txId, outcome.result]);
  }
  return { format: 1, position: state.position, entities, requests, schemas };
}

function kindSchema({ type, mark }: KindState): SnapshotKindSchema {
  const schema: { version: number; fingerprint?: string; mark?: string } = { version: type?.version ?? 1 };
  if (type !== undefined) schema.fingerprint = type.fingerprint;
  if (mark !== undefined) schema.mark = mark;
  return schema;
}

/**
 * Rebuilds a state from a snapshot through the same index maintenance as folding, so that a
 * restart from a snapshot gives the state that replaying the log gives (I3). Rows this code's
 * schema is not known to accept (an older version, another fingerprint) are migrated and
 * checked like records; the rest are taken as they are.
 */
export function loadSnapshot(snapshot: Snapshot, types: ReadonlyMap<string, EntityType>): State {
  assert(snapshot.format === 1, `unknown snapshot format ${String(snapshot.format)}`);
  const state = new State(types);
  const { position, schemas } = snapshot;
  if (schemas !== undefined) for (const [kind, schema] of Object.entries(schemas)) state.kindState(kind).setMark(schema.mark);
  // Rows come grouped by kind: what a kind's rows need is worked out once per run of them.
  let plan: KindPlan | undefined;
  for (const row of snapshot.entities) {
    const [kind, id, version, stored] = row;
    if (plan?.kind !== kind) plan = kindPlan(state.kindState(kind), schemas);
    const { kindState, type } = plan;
    // Most rows have four elements: reading a fifth that is not there is a slow element load.
    const own = row.length > 4 ? row[4] : undefined;
    const schemaVersion = own ?? plan.version;
    let data: JsonObject;
    if (type === undefined || (schemaVersion === type.version && plan.trusted)) data = deepFreeze(stored);
    else data = type.readStored(stored, schemaVersion, { kind, id, position });
    if (own !== undefined) noteStoredVersion(kindState, id, schemaVersion);
    kindState.add(Object.freeze({ id, kind: kindState.kind, version, data }), position);
  }
  for (const [requestId, outcome, txId, result] of snapshot.requests) {
    state.requests.set(requestId, requestOutcome(outcome, txId, result));
  }
  state.position = position;
  return state;
}

interface KindPlan {
  readonly kind: string;
  readonly kindState: KindState;
  readonly type: EntityType | undefined;
  /** The schema version of the kind's rows that do not say their own. */
  readonly version: number;
  /** The rows are taken as they are: the snapshot's writer had this very schema, or the snapshot predates schema versions. */
  readonly trusted: boolean;
}

function kindPlan(kindState: KindState, schemas: Snapshot['schemas']): KindPlan {
  const schema = schemas?.[kindState.kind];
  const { type } = kindState;
  const trusted = schemas === undefined || (type !== undefined && schema?.fingerprint === type.fingerprint);
  return { kind: kindState.kind, kindState, type, version: schema?.version ?? 1, trusted };
}
