import type { EntityType } from './entity-type.js';
import { UniqueViolationError } from './errors.js';
import type { Entity } from './record.js';

export type IndexValue = string | number | boolean | null | undefined;

/**
 * The members of one non-unique index value, and the position of the last change to them.
 * The members are kept in an array (`find` copies it, which is far cheaper than walking a
 * map), with `slots` saying where each id is. While `sorted`, the array is in id order (ids
 * made by a monotonic source are added in that order, and an update that keeps the value
 * keeps its place), so `find` need not sort. A member that leaves leaves a hole (undefined)
 * until the array is compacted: by the next `find`, or once holes outnumber members.
 */
export interface Bucket {
  /** id -> index of the member in `entries`. */
  readonly slots: Map<string, number>;
  entries: (Entity | undefined)[];
  /** How many entries are holes. */
  holes: number;
  stamp: number;
  sorted: boolean;
  /** The greatest id added while sorted. */
  last: string;
}

/** Holes a bucket keeps before it is compacted without a `find` (when they outnumber its members, too). */
const holesKept = 32;

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

  /** The entries of `unique` and `index` as arrays: folding walks them for every change, and arrays iterate without allocating. */
  private readonly uniqueEntries: readonly (readonly [string, Map<IndexValue, Entity>])[];
  private readonly indexEntries: readonly (readonly [string, Map<IndexValue, Bucket>])[];

  /**
   * True while the kind's stored data of the type's current version is known to pass its
   * schema: the log's mark for the kind (`LogRecord.schemas`) is this type's fingerprint, or
   * there is no mark (data from before schema versions). Folding validates such data only when
   * this is false, so the common case costs one comparison per change.
   */
  trusted = true;
  /**
   * The schema version whose stored data folding takes as it is: the type's version while
   * `trusted`, 1 for a kind without a type (its data is kept as stored), otherwise none (-1).
   * One number, so that the fast path of replay is one comparison.
   */
  trustedVersion: number;
  /** The log's latest schema mark for the kind. */
  mark: string | undefined = undefined;
  /**
   * id -> the schema version of the entity's stored data, for entities whose stored version is
   * not the one their data in memory has: of a registered type, entities migrated from an
   * older version (what `store.migrate` rewrites); of a kind without a type, entities not at 1.
   */
  readonly storedVersions = new Map<string, number>();

  constructor(
    readonly kind: string,
    uniqueFields: readonly string[],
    indexFields: readonly string[],
    /** The registered entity type, or undefined for a kind this store was not opened with. */
    readonly type?: EntityType,
  ) {
    this.trustedVersion = type?.version ?? 1;
    for (const field of uniqueFields) this.unique.set(field, new Map());
    for (const field of indexFields) this.index.set(field, new Map());
    this.uniqueEntries = [...this.unique];
    this.indexEntries = [...this.index];
  }

  /**
   * Takes `before` out of the indexes. A record's changes are applied in two phases (every
   * old value leaves before any new value enters) so that a swap of unique values inside one
   * transaction never looks like a duplicate.
   */
  unindex(before: Entity, position: number, after: Entity | undefined): void {
    this.stamp = position;
    for (const [field, owners] of this.uniqueEntries) {
      const value = fieldValue(before, field);
      // An update that keeps the value keeps it held: `add` makes the new version its owner.
      if (!isClaimable(value) || (after !== undefined && fieldValue(after, field) === value)) continue;
      if (owners.get(value)?.id === before.id) owners.delete(value);
    }
    for (const [field, buckets] of this.indexEntries) {
      const value = fieldValue(before, field);
      const bucket = buckets.get(value);
      if (bucket === undefined) continue;
      // An update that keeps the value stays a member (`add` replaces it in place, keeping the order).
      if (after !== undefined && fieldValue(after, field) === value) {
        bucket.stamp = position;
        continue;
      }
      removeFromBucket(bucket, before.id);
      bucket.stamp = position;
      if (bucket.slots.size === 0) buckets.delete(value);
    }
  }

  /** Makes `after` the current entity for its id and adds it to the indexes. */
  add(after: Entity, position: number): void {
    this.entities.set(after.id, after);
    this.stamp = position;
    for (const [field, owners] of this.uniqueEntries) {
      const value = fieldValue(after, field);
      if (!isClaimable(value)) continue;
      const owner = owners.get(value);
      // I6: a unique value is never held by two entities at any position. Transactions check it
      // before they commit, so only stored data read with a constraint (or a migration) new to
      // this code gets here: the store refuses it.
      if (owner !== undefined && owner.id !== after.id) {
        throw new UniqueViolationError({ kind: this.kind, field, value, existingId: owner.id, ids: [owner.id, after.id] });
      }
      owners.set(value, after);
    }
    for (const [field, buckets] of this.indexEntries) addToBucket(buckets, fieldValue(after, field), after, position);
  }

  remove(id: string, position: number): void {
    this.entities.delete(id);
    if (this.storedVersions.size > 0) this.storedVersions.delete(id);
    this.stamp = position;
  }

  /** Notes the log's schema mark for the kind: data of the current version is trusted only under this type's own mark. */
  setMark(mark: string | undefined): void {
    this.mark = mark;
    this.trusted = mark === undefined || (this.type !== undefined && mark === this.type.fingerprint);
    this.trustedVersion = this.type === undefined ? 1 : this.trusted ? this.type.version : -1;
  }
}

function addToBucket(buckets: Map<IndexValue, Bucket>, value: IndexValue, entity: Entity, position: number): void {
  let bucket = buckets.get(value);
  if (bucket === undefined) {
    bucket = { slots: new Map(), entries: [], holes: 0, stamp: position, sorted: true, last: entity.id };
    buckets.set(value, bucket);
  }
  const { id } = entity;
  const slot = bucket.slots.get(id);
  if (slot !== undefined) {
    bucket.entries[slot] = entity;
  } else {
    if (bucket.sorted) {
      if (id < bucket.last) bucket.sorted = false;
      else bucket.last = id;
    }
    bucket.slots.set(id, bucket.entries.length);
    bucket.entries.push(entity);
  }
  bucket.stamp = position;
}

function removeFromBucket(bucket: Bucket, id: string): void {
  const slot = bucket.slots.get(id);
  if (slot === undefined) return;
  bucket.slots.delete(id);
  bucket.entries[slot] = undefined;
  bucket.holes += 1;
  if (bucket.holes > holesKept && bucket.holes > bucket.slots.size) compact(bucket);
}

/** Drops the holes and, for a bucket out of order, puts it in order. */
function compact(bucket: Bucket): void {
  const entries = bucket.entries.filter((entity): entity is Entity => entity !== undefined);
  if (!bucket.sorted) entries.sort(byEntityId);
  bucket.slots.clear();
  for (let index = 0; index < entries.length; index += 1) bucket.slots.set((entries[index] as Entity).id, index);
  bucket.entries = entries;
  bucket.holes = 0;
  bucket.sorted = true;
  bucket.last = entries[entries.length - 1]?.id ?? '';
}

/** The members of a bucket in id order, in an array of the caller's own. A bucket with holes or out of order is compacted first. */
export function bucketMembers(bucket: Bucket): Entity[] {
  if (bucket.holes > 0 || !bucket.sorted) compact(bucket);
  return bucket.entries.slice() as Entity[];
}

/** The ids of a bucket's members (in no particular order). */
export function bucketIds(bucket: Bucket): IterableIterator<string> {
  return bucket.slots.keys();
}

export function byEntityId(a: Entity, b: Entity): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
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
