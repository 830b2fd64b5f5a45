import type { EntityRef } from './errors.js';
import type { IndexValue } from './kind-state.js';
import type { RelayedCommit } from './commit-relay.js';
import type { Entity } from './record.js';
import type { State } from './state.js';

/** A lookup of a unique value (`seen` is its owner) or of a non-unique bucket (`seen` is its stamp). */
interface ValueRead {
  readonly kind: string;
  readonly field: string;
  readonly value: IndexValue;
  readonly unique: boolean;
  readonly seen: Entity | number | undefined;
}

/**
 * The entities of one kind a transaction read by id, in the order it first read them, with
 * what it saw (`seen[index]` for `ids[index]`). Arrays rather than maps: a transaction reads a
 * few entities of a kind, and finds a repeat by scanning them; past `entityScanMax` ids a set
 * answers that instead.
 */
interface EntityReads {
  readonly kind: string;
  readonly ids: string[];
  readonly seen: (Entity | undefined)[];
  index: Set<string> | undefined;
}

/** Ids of one kind a read set scans for a repeat; more get a set. */
const entityScanMax = 16;

/**
 * What earlier transactions of the same batch wrote, not yet folded into the state: the
 * sequencer validates a later transaction of the batch against it as well (I5).
 */
export class Touched {
  private readonly entities = new Map<string, Set<string>>();
  private readonly values = new Map<string, Map<string, Set<IndexValue>>>();
  private readonly kinds = new Set<string>();

  entity(kind: string, id: string): void {
    this.kinds.add(kind);
    let ids = this.entities.get(kind);
    if (ids === undefined) this.entities.set(kind, (ids = new Set<string>()));
    ids.add(id);
  }

  value(kind: string, field: string, value: IndexValue): void {
    let fields = this.values.get(kind);
    if (fields === undefined) this.values.set(kind, (fields = new Map<string, Set<IndexValue>>()));
    let values = fields.get(field);
    if (values === undefined) fields.set(field, (values = new Set<IndexValue>()));
    values.add(value);
  }

  hasEntity(kind: string, id: string): boolean {
    return this.entities.get(kind)?.has(id) === true;
  }

  hasValue(kind: string, field: string, value: IndexValue): boolean {
    return this.values.get(kind)?.get(field)?.has(value) === true;
  }

  hasKind(kind: string): boolean {
    return this.kinds.has(kind);
  }
}

/** What a commit's reads answer to its sequencer: the reads that no longer hold. */
export interface ReadCheck {
  /** How many reads; 0 for a transaction that read nothing. */
  readonly size: number;
  conflicts(state: State, touched?: Touched): EntityRef[];
}

/**
 * Every read a transaction made, with what it observed (I5): entities by id (valid while the
 * same frozen entity object is current), unique lookups (while the same owner is current),
 * `find` buckets (while the bucket's stamp is unchanged) and `list` per kind (while the kind's
 * stamp is unchanged). The first observation of a key is the one that counts.
 */
export class ReadSet implements ReadCheck {
  // Allocated on first use: most transactions read one or two kinds of thing.
  private entities: EntityReads[] | undefined;
  private values: ValueRead[] | undefined;
  private kinds: Map<string, number> | undefined;

  get size(): number {
    let entities = 0;
    for (const reads of this.entities ?? []) entities += reads.ids.length;
    return entities + (this.values?.length ?? 0) + (this.kinds?.size ?? 0);
  }

  entity(kind: string, id: string, seen: Entity | undefined): void {
    const reads = this.entitiesOf(kind);
    if (reads.index !== undefined) {
      if (reads.index.has(id)) return;
      reads.index.add(id);
    } else {
      const { ids } = reads;
      for (let index = 0; index < ids.length; index += 1) if (ids[index] === id) return;
      if (ids.length >= entityScanMax) reads.index = new Set([...ids, id]);
    }
    reads.ids.push(id);
    reads.seen.push(seen);
  }

  private entitiesOf(kind: string): EntityReads {
    const all = (this.entities ??= []);
    for (const reads of all) if (reads.kind === kind) return reads;
    const reads: EntityReads = { kind, ids: [], seen: [], index: undefined };
    all.push(reads);
    return reads;
  }

  unique(kind: string, field: string, value: IndexValue, seen: Entity | undefined): void {
    (this.values ??= []).push({ kind, field, value, unique: true, seen });
  }

  bucket(kind: string, field: string, value: IndexValue, seen: number): void {
    (this.values ??= []).push({ kind, field, value, unique: false, seen });
  }

  kind(kind: string, seen: number): void {
    this.kinds ??= new Map();
    if (!this.kinds.has(kind)) this.kinds.set(kind, seen);
  }

  /** The reads without what they saw, for a leader that validates them by position (see `RelayedCommit`). */
  keys(): Pick<RelayedCommit, 'entities' | 'values' | 'kinds'> {
    const entities: [string, string][] = [];
    for (const { kind, ids } of this.entities ?? []) for (const id of ids) entities.push([kind, id]);
    const values = (this.values ?? []).map(({ kind, field, value }) => (value === undefined ? ([kind, field] as const) : ([kind, field, value] as const)));
    return { entities, values, kinds: [...(this.kinds?.keys() ?? [])] };
  }

  /**
   * The reads that no longer hold in `state`, or that `touched` (writes earlier in the same
   * batch) invalidates. Empty when the transaction may commit at the state's position.
   */
  conflicts(state: State, touched?: Touched): EntityRef[] {
    const found: EntityRef[] = [];
    for (const { kind, ids, seen } of this.entities ?? []) {
      const current = state.kinds.get(kind)?.entities;
      for (let index = 0; index < ids.length; index += 1) {
        const id = ids[index] as string;
        if (current?.get(id) !== seen[index] || touched?.hasEntity(kind, id) === true) found.push({ kind, id });
      }
    }
    for (const read of this.values ?? []) {
      if (!valueHolds(read, state) || touched?.hasValue(read.kind, read.field, read.value) === true) {
        found.push({ kind: read.kind, id: `${read.field}=${JSON.stringify(read.value) ?? 'undefined'}` });
      }
    }
    for (const [kind, seen] of this.kinds ?? []) {
      if ((state.kinds.get(kind)?.stamp ?? 0) !== seen || touched?.hasKind(kind) === true) found.push({ kind, id: '*' });
    }
    return found;
  }
}

function valueHolds(read: ValueRead, state: State): boolean {
  const kindState = state.kinds.get(read.kind);
  if (read.unique) return kindState?.unique.get(read.field)?.get(read.value) === read.seen;
  return (kindState?.index.get(read.field)?.get(read.value)?.stamp ?? 0) === read.seen;
}
