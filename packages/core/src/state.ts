import type { EntityType } from './entity-type.js';
import { assert } from './errors.js';
import { deepFreeze } from './freeze.js';
import { KindState } from './kind-state.js';
import type { Change, Entity, JsonValue, LogRecord } from './record.js';

/** What a record with a requestId answered, kept so that a replay returns it (I7). */
export interface RequestOutcome {
  readonly position: number;
  readonly txId: string;
  readonly result?: JsonValue;
}

/** An entity change with both images, as adapters and the runtime see it. */
export interface EntityChange {
  readonly kind: string;
  readonly id: string;
  readonly op: 'create' | 'update' | 'delete';
  readonly before?: Entity;
  readonly after?: Entity;
}

/**
 * The fold of the log: entities and indexes per kind, and the outcomes of requests. Pure:
 * `fold` changes it from a record alone, with no I/O, clock or randomness (I3).
 */
export class State {
  position = 0;
  readonly kinds = new Map<string, KindState>();
  readonly requests = new Map<string, RequestOutcome>();

  constructor(readonly types: ReadonlyMap<string, EntityType>) {
    for (const type of types.values()) this.kinds.set(type.kind, new KindState(type.kind, type.unique, type.index));
  }

  kindState(kind: string): KindState {
    let state = this.kinds.get(kind);
    if (state === undefined) {
      // A kind this store was not opened with (written by another program sharing the log):
      // it is kept, unindexed, so that the state stays the whole fold of the log.
      state = new KindState(kind, [], []);
      this.kinds.set(kind, state);
    }
    return state;
  }

  /**
   * Applies one record; returns its changes with before and after images. The committing
   * store may pass the frozen entities its transaction already built for the same changes
   * (`prepared`), to avoid building them twice; they must equal what the record says.
   */
  fold(record: LogRecord, prepared?: readonly EntityChange[]): EntityChange[] {
    assert(record.position === this.position + 1, `fold of record ${record.position} at position ${this.position}`);
    const { position } = record;
    const changes = record.changes.map((change, index) => this.imagesOf(change, prepared?.[index]));
    for (const { kind, before } of changes) if (before !== undefined) this.kindState(kind).unindex(before, position);
    for (const { kind, id, after } of changes) {
      if (after === undefined) this.kindState(kind).remove(id, position);
      else this.kindState(kind).add(after, position);
    }
    if (record.requestId !== undefined) {
      assert(!this.requests.has(record.requestId), `requestId ${record.requestId} logged twice`);
      const outcome: RequestOutcome = { position, txId: record.txId };
      this.requests.set(record.requestId, record.result === undefined ? outcome : { ...outcome, result: record.result });
    }
    this.position = position;
    return changes;
  }

  private imagesOf(change: Change, prepared: EntityChange | undefined): EntityChange {
    const before = this.kindState(change.kind).entities.get(change.id);
    const { kind, id, op } = change;
    if (op === 'create') assert(before === undefined, `create of existing ${kind} ${id}`);
    else assert(before !== undefined && before.version + 1 === change.version, `${op} of ${kind} ${id} skips a version`);
    // The committing transaction built these images already; they hold if they describe
    // exactly this change from exactly the current entity (which its validation ensured).
    if (prepared !== undefined && prepared.before === before && prepared.op === op && prepared.id === id) {
      const after = prepared.after;
      if (op === 'delete' ? after === undefined : after?.version === change.version && after.data === change.data) return prepared;
    }
    const after = op === 'delete' ? undefined : deepFreeze<Entity>({ id, kind, version: change.version, data: change.data });
    if (before === undefined) return { kind, id, op, after: after as Entity };
    return after === undefined ? { kind, id, op, before } : { kind, id, op, before, after };
  }

}
