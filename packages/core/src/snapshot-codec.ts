import type { EntityType } from './entity-type.js';
import { assert } from './errors.js';
import { deepFreeze } from './freeze.js';
import type { Entity, Snapshot } from './record.js';
import { requestOutcome, State } from './state.js';

/** The state as a snapshot. Synchronous, so it is the state at exactly one position. */
export function toSnapshot(state: State): Snapshot {
  const entities: [string, string, number, Entity['data']][] = [];
  for (const kindState of state.kinds.values()) {
    for (const entity of kindState.entities.values()) entities.push([entity.kind, entity.id, entity.version, entity.data]);
  }
  const requests: Snapshot['requests'][number][] = [];
  for (const [requestId, outcome] of state.requests) {
    requests.push(outcome.result === undefined ? [requestId, outcome.position, outcome.txId] : [requestId, outcome.position, outcome.txId, outcome.result]);
  }
  return { format: 1, position: state.position, entities, requests };
}

/**
 * Rebuilds a state from a snapshot through the same index maintenance as folding, so that a
 * restart from a snapshot gives the state that replaying the log gives (I3).
 */
export function loadSnapshot(snapshot: Snapshot, types: ReadonlyMap<string, EntityType>): State {
  assert(snapshot.format === 1, `unknown snapshot format ${String(snapshot.format)}`);
  const state = new State(types);
  for (const [kind, id, version, data] of snapshot.entities) {
    const entity: Entity = Object.freeze({ id, kind, version, data: deepFreeze(data) });
    state.kindState(kind).add(entity, snapshot.position);
  }
  for (const [requestId, position, txId, result] of snapshot.requests) {
    state.requests.set(requestId, requestOutcome(position, txId, result));
  }
  state.position = snapshot.position;
  return state;
}
