import type { StateDump } from '@ordo/core';
import { canonicalJson } from './canonical-json.js';

/** The first way two states differ, for people; undefined when they are the same. */
export function stateDifference(replayed: StateDump, snapshot: StateDump): string | undefined {
  const byKey = (dump: StateDump): Map<string, string> => new Map(dump.entities.map((entity) => [`${entity.kind} ${entity.id}`, canonicalJson(entity)]));
  const mine = byKey(replayed);
  const theirs = byKey(snapshot);
  for (const [key, text] of theirs) {
    const other = mine.get(key);
    if (other === undefined) return `${key} is in the snapshot, not in the replayed state`;
    if (other !== text) return `${key} differs: snapshot ${text}, replay ${other}`;
  }
  for (const key of mine.keys()) if (!theirs.has(key)) return `${key} is in the replayed state, not in the snapshot`;
  if (canonicalJson(replayed.requests) !== canonicalJson(snapshot.requests)) return 'the request outcomes (requestIds) differ';
  return undefined;
}
