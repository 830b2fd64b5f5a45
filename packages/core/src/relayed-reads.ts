import type { RelayedCommit } from './commit-relay.js';
import type { EntityRef } from './errors.js';
import type { ReadCheck, Touched } from './read-set.js';
import type { State } from './state.js';

/** The `kind` of the conflict a leader reports for reads older than its touch clock reaches. */
export const uncheckedReadsKind = '*';

/**
 * The reads of a commit another process relayed, checked by position: each must be unchanged
 * after the commit's base, by the leader's touch clock, and untouched by the requests before
 * it in the batch (I5). A base the clock does not reach back to counts as a conflict: the
 * writer runs its transaction again on a newer state.
 */
export class RelayedReads implements ReadCheck {
  constructor(private readonly commit: RelayedCommit) {}

  get size(): number {
    const { entities, values, kinds } = this.commit;
    return entities.length + values.length + kinds.length;
  }

  conflicts(state: State, touched?: Touched): EntityRef[] {
    const { base, entities, values, kinds } = this.commit;
    const clock = state.touches;
    if (clock === undefined || base < clock.floor) return [{ kind: uncheckedReadsKind, id: `reads at ${base}, before what the leader can check` }];
    const found: EntityRef[] = [];
    for (const [kind, id] of entities) {
      if (clock.entityChangedAfter(kind, id, base) || touched?.hasEntity(kind, id) === true) found.push({ kind, id });
    }
    for (const [kind, field, value] of values) {
      if (clock.valueChangedAfter(kind, field, value, base) || touched?.hasValue(kind, field, value) === true) {
        found.push({ kind, id: `${field}=${JSON.stringify(value) ?? 'undefined'}` });
      }
    }
    for (const kind of kinds) {
      if ((state.kinds.get(kind)?.stamp ?? 0) > base || touched?.hasKind(kind) === true) found.push({ kind, id: '*' });
    }
    return found;
  }
}
