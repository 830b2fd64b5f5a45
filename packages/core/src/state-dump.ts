import { bucketIds } from './kind-state.js';
import type { Entity, JsonValue } from './record.js';
import type { State } from './state.js';

/**
 * A canonical, JSON-comparable picture of a state: entities sorted by kind and id, every
 * index as it is maintained (not recomputed), and request outcomes. Two states are the same
 * exactly when their dumps are deep-equal (I3).
 */
export interface StateDump {
  readonly position: number;
  readonly entities: readonly Entity[];
  /** `kind.field` -> [value, sorted ids][] sorted by value. */
  readonly indexes: Readonly<Record<string, readonly (readonly [JsonValue, readonly string[]])[]>>;
  readonly requests: readonly (readonly [string, number, string, JsonValue])[];
}

export function dumpState(state: State): StateDump {
  const entities: Entity[] = [];
  const indexes: Record<string, [JsonValue, string[]][]> = {};
  for (const kind of [...state.kinds.keys()].sort()) {
    const kindState = state.kinds.get(kind);
    if (kindState === undefined) continue;
    entities.push(...[...kindState.entities.values()].sort((a, b) => compare(a.id, b.id)));
    for (const [field, owners] of kindState.unique) {
      indexes[`${kind}.${field}`] = sortEntries([...owners].map(([value, entity]) => [value ?? null, [entity.id]]));
    }
    for (const [field, buckets] of kindState.index) {
      indexes[`${kind}.${field}`] = sortEntries(
        [...buckets].map(([value, bucket]) => [value === undefined ? '(undefined)' : value, [...bucketIds(bucket)].sort(compare)]),
      );
    }
  }
  const requests = [...state.requests]
    .map(([requestId, outcome]) => [requestId, outcome.position, outcome.txId, outcome.result ?? null] as const)
    .sort((a, b) => compare(a[0], b[0]));
  return { position: state.position, entities, indexes, requests };
}

function sortEntries(entries: [JsonValue, string[]][]): [JsonValue, string[]][] {
  return entries.sort((a, b) => compare(JSON.stringify(a[0]), JSON.stringify(b[0])));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
