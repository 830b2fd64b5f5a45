import { assert } from './errors.js';
import type { Entity } from './record.js';

export type IndexValue = string | number | boolean | null | undefined;

/** The members of one non-unique index value, and the position of the last change to them. */
export interface Bucket {
  readonly members: Map<string, Entity>;
  stamp: number;
}

/**
 * The entities of one kind and their indexes. Changes are applied one at a time by
 * `State.fold`; every reader sees either all of a record or none of it (I4) because folding
 * a record runs synchronously.
 *
 * Stamps make read-set validation cheap (I5): an entity read is valid while the same frozen
 * entity object is current; a unique lookup while the same owner is current; a `find` bucket
 * while its stamp is unchanged; a `list` while the kind's stamp is unchanged.
 */
export class KindState {
  readonly entities = new Map<string, Entity>();
  /** Position of the last change to any entity of this kind. */
  stamp = 0;
  /** field -> value -> the entity that holds it. */
  readonly unique = new Map<string, Map<IndexValue, Entity>>();
  /** field -> value -> bucket of the entities that hold it. */
  readonly index = new Map<string, Map<IndexValue, Bucket>>();

  constructor(
    readonly kind: string,
    uniqueFields: readonly string[],
    indexFields: readonly string[],
  ) {
    for (const field of uniqueFields) this.unique.set(field, new Map());
    for (const field of indexFields) this.index.set(field, new Map());
  }

  /** Replaces `before` with `after` (either may be undefined) at `position`. */
  apply(before: Entity | undefined, after: Entity | undefined, position: number): void {
    const id = (after ?? before)?.id;
    assert(id !== undefined, 'a change needs a before or an after image');
    if (after === undefined) this.entities.delete(id);
    else this.entities.set(id, after);
    this.stamp = position;
    for (const [field, owners] of this.unique) this.moveUnique(field, owners, before, after);
    for (const [field, buckets] of this.index) moveIndexed(field, buckets, before, after, position);
  }

  private moveUnique(field: string, owners: Map<IndexValue, Entity>, before: Entity | undefined, after: Entity | undefined): void {
    const oldValue = fieldValue(before, field);
    const newValue = fieldValue(after, field);
    if (before !== undefined && isClaimable(oldValue) && owners.get(oldValue)?.id === before.id) owners.delete(oldValue);
    if (after !== undefined && isClaimable(newValue)) {
      const owner = owners.get(newValue);
      // I6: a unique value is never held by two entities at any position.
      assert(owner === undefined || owner.id === after.id, `${this.kind}.${field} value held twice`);
      owners.set(newValue, after);
    }
  }
}

function moveIndexed(
  field: string,
  buckets: Map<IndexValue, Bucket>,
  before: Entity | undefined,
  after: Entity | undefined,
  position: number,
): void {
  const id = (after ?? before)?.id as string;
  if (before !== undefined) {
    const oldValue = fieldValue(before, field);
    const bucket = buckets.get(oldValue);
    if (bucket !== undefined) {
      bucket.members.delete(id);
      bucket.stamp = position;
      if (bucket.members.size === 0) buckets.delete(oldValue);
    }
  }
  if (after !== undefined) {
    const newValue = fieldValue(after, field);
    let bucket = buckets.get(newValue);
    if (bucket === undefined) {
      bucket = { members: new Map(), stamp: position };
      buckets.set(newValue, bucket);
    }
    bucket.members.set(id, after);
    bucket.stamp = position;
  }
}

export function fieldValue(entity: Entity | undefined, field: string): IndexValue {
  if (entity === undefined) return undefined;
  return (entity.data as Record<string, unknown>)[field] as IndexValue;
}

/** Unique constraints ignore absent values, like SQL NULL. */
export function isClaimable(value: IndexValue): value is string | number | boolean {
  return value !== undefined && value !== null;
}

export function isIndexValue(value: unknown): value is IndexValue {
  const type = typeof value;
  return value === null || type === 'undefined' || type === 'string' || type === 'number' || type === 'boolean';
}
