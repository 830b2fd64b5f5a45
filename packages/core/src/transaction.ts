import { produce, type Draft } from 'immer';
import { type DataOf, type EntityType, type InputOf, type KindOf } from './entity-type.js';
import {
  InvalidArgumentError,
  NotFoundError,
  NotIndexedError,
  TransactionFinishedError,
  UniqueViolationError,
  UnknownEntityTypeError,
  ValidationError,
  VersionMismatchError,
  AlreadyExistsError,
} from './errors.js';
import { frozenJson, NotJsonError } from './json-data.js';
import { bucketMembers, byEntityId, fieldValue, isClaimable, isIndexValue, type IndexValue, type KindState } from './kind-state.js';
import { ReadSet } from './read-set.js';
import type { Entity, JsonObject } from './record.js';
import type { EntityChange, State } from './state.js';

export type EntityOf<Type> = Entity<DataOf<Type>, KindOf<Type>>;
export type Recipe<Data> = (draft: Draft<Data>) => void | Data;
export type Where<Type> = { readonly [Field in keyof DataOf<Type>]?: DataOf<Type>[Field] };

interface PendingWrite {
  readonly type: EntityType;
  readonly id: string;
  /** The committed entity this transaction started from (undefined for a create). */
  readonly base: Entity | undefined;
  after: Entity | undefined;
}

/**
 * The handle a transaction function works with. Reads go to the store's committed state and
 * are recorded in the read set; writes stay in this transaction until it commits. Reads see
 * the transaction's own writes.
 */
export class Transaction {
  readonly reads = new ReadSet();
  /** kind -> id -> write; `order` keeps the order of first writes for the record. */
  private readonly writes = new Map<string, Map<string, PendingWrite>>();
  private readonly order: PendingWrite[] = [];
  /** kind -> field -> value -> the id that holds a unique value in this transaction, or null once released. Made on first use. */
  private claims: Map<string, Map<string, Map<IndexValue, string | null>>> | undefined;
  private finished = false;
  private metadata: JsonObject | undefined;

  constructor(
    private readonly state: State,
    private readonly newId: () => string,
  ) {}

  get<Type extends EntityType>(type: Type, id: string): EntityOf<Type> | undefined {
    this.checkOpen();
    const kindState = this.kindState(type);
    if (typeof id !== 'string') throw new InvalidArgumentError('id', `must be a string, got ${typeof id}`);
    const write = this.pending(type.kind, id);
    if (write !== undefined) return write.after as EntityOf<Type> | undefined;
    const entity = kindState.entities.get(id);
    this.reads.entity(type.kind, id, entity);
    return entity as EntityOf<Type> | undefined;
  }

  require<Type extends EntityType>(type: Type, id: string): EntityOf<Type> {
    const entity = this.get(type, id);
    if (entity === undefined) throw new NotFoundError({ kind: type.kind, id });
    return entity;
  }

  /** Entities whose fields equal `where`; every field must be in `unique` or `index`. Sorted by id. */
  find<Type extends EntityType>(type: Type, where: Where<Type>): EntityOf<Type>[] {
    this.checkOpen();
    const kindState = this.kindState(type);
    const fields = checkWhere(type, where);
    const [first] = fields as [string];
    const value = (where as Record<string, IndexValue>)[first];
    const committed = this.committedMatches(type, kindState, first, value);
    // Committed matches hold `first` already (they are its index's members).
    return this.overlay(type, fields.length === 1 ? committed : committed.filter((entity) => matchesWhere(entity, fields, where)), fields, where);
  }

  /** Every entity of the kind, sorted by id. A predicate read: any change to the kind conflicts. */
  list<Type extends EntityType>(type: Type): EntityOf<Type>[] {
    this.checkOpen();
    const kindState = this.kindState(type);
    this.reads.kind(type.kind, kindState.stamp);
    return this.overlay(type, [...kindState.entities.values()].sort(byEntityId), [], {});
  }

  create<Type extends EntityType>(type: Type, data: InputOf<Type>, options: { id?: string } = {}): EntityOf<Type> {
    this.checkOpen();
    this.kindState(type);
    const id = options.id ?? this.newId();
    if (options.id !== undefined) {
      if (typeof id !== 'string' || id.length === 0 || id.length > 256) {
        throw new InvalidArgumentError('id', 'must be a non-empty string of at most 256 characters');
      }
      if (this.get(type, id) !== undefined) throw new AlreadyExistsError({ kind: type.kind, id });
    }
    const parsed = writtenData(type, type.parse(data, id), id);
    // Deleted and created again in this transaction: one record holds one change per
    // entity, so this becomes an update of the committed entity.
    const base = this.pending(type.kind, id)?.base;
    // `parse` froze the data already: only the envelope is new.
    const entity: Entity = Object.freeze({ id, kind: type.kind, version: base === undefined ? 1 : base.version + 1, data: parsed });
    this.write(type, id, undefined, entity);
    return entity as EntityOf<Type>;
  }

  /** Applies an immer recipe over the data, or merges a partial object into it. */
  update<Type extends EntityType>(
    type: Type,
    id: string,
    change: Recipe<DataOf<Type>> | Partial<InputOf<Type>>,
    options: { expectedVersion?: number } = {},
  ): EntityOf<Type> {
    const current = this.require(type, id) as unknown as Entity;
    checkExpectedVersion(current, options.expectedVersion);
    const next = typeof change === 'function' ? applyRecipe(type, current, change) : mergePatch(type, current, change);
    const parsed = writtenData(type, type.parse(next, id), id);
    // One record is one change per entity: several updates in one transaction add one version.
    const pending = this.pending(type.kind, id);
    const base = pending === undefined ? current : pending.base;
    const version = base === undefined ? 1 : base.version + 1;
    const entity: Entity = Object.freeze({ id, kind: type.kind, version, data: parsed });
    this.write(type, id, current, entity);
    return entity as EntityOf<Type>;
  }

  delete(type: EntityType, id: string, options: { expectedVersion?: number } = {}): void {
    const current = this.require(type, id) as unknown as Entity;
    checkExpectedVersion(current, options.expectedVersion);
    this.write(type, id, current, undefined);
  }

  /** The changes this transaction would commit now, with before and after images. */
  changes(): EntityChange[] {
    this.checkOpen();
    return this.pendingChanges();
  }

  /** Attaches JSON metadata to the record this transaction commits (the operation runtime uses it). */
  setMeta(meta: JsonObject): void {
    this.checkOpen();
    this.metadata = jsonMeta(meta);
  }

  get meta(): JsonObject | undefined {
    return this.metadata;
  }

  get hasWrites(): boolean {
    return this.order.some((write) => write.base !== undefined || write.after !== undefined);
  }

  /** Ends the handle: later calls throw TransactionFinishedError. */
  finish(): void {
    this.finished = true;
  }

  pendingChanges(): EntityChange[] {
    const changes: EntityChange[] = [];
    for (const { type, id, base, after } of this.order) {
      if (base === undefined && after !== undefined) changes.push({ kind: type.kind, id, op: 'create', after });
      else if (base !== undefined && after !== undefined) changes.push({ kind: type.kind, id, op: 'update', before: base, after });
      else if (base !== undefined) changes.push({ kind: type.kind, id, op: 'delete', before: base });
    }
    return changes;
  }

  private write(type: EntityType, id: string, current: Entity | undefined, after: Entity | undefined): void {
    for (const field of type.unique) this.claimUnique(type, id, field, current, fieldValue(after, field));
    for (const field of type.index) checkIndexable(type, id, field, fieldValue(after, field));
    const existing = this.pending(type.kind, id);
    if (existing !== undefined) {
      // A create that the same transaction deletes leaves no change (pendingChanges skips it).
      existing.after = after;
      return;
    }
    const write: PendingWrite = { type, id, base: current, after };
    let ofKind = this.writes.get(type.kind);
    if (ofKind === undefined) this.writes.set(type.kind, (ofKind = new Map<string, PendingWrite>()));
    ofKind.set(id, write);
    this.order.push(write);
  }

  private pending(kind: string, id: string): PendingWrite | undefined {
    return this.writes.get(kind)?.get(id);
  }

  private claimUnique(type: EntityType, id: string, field: string, current: Entity | undefined, newValue: IndexValue): void {
    const oldValue = fieldValue(current, field);
    // An entity that keeps its value needs no check: it already holds it.
    if (oldValue === newValue && current !== undefined) return;
    checkIndexable(type, id, field, newValue);
    if (isClaimable(newValue)) {
      const holder = this.uniqueHolder(type, field, newValue);
      if (holder !== undefined && holder !== id) {
        throw new UniqueViolationError({ kind: type.kind, field, value: newValue, existingId: holder });
      }
    }
    const claims = this.claimsOf(type.kind, field);
    if (isClaimable(oldValue) && oldValue !== newValue) claims.set(oldValue, null);
    if (isClaimable(newValue)) claims.set(newValue, id);
  }

  private claimsOf(kind: string, field: string): Map<IndexValue, string | null> {
    this.claims ??= new Map();
    let ofKind = this.claims.get(kind);
    if (ofKind === undefined) this.claims.set(kind, (ofKind = new Map<string, Map<IndexValue, string | null>>()));
    let claims = ofKind.get(field);
    if (claims === undefined) ofKind.set(field, (claims = new Map<IndexValue, string | null>()));
    return claims;
  }

  /** Who holds a unique value as this transaction sees it. Records the lookup as a read. */
  private uniqueHolder(type: EntityType, field: string, value: IndexValue): string | undefined {
    const claim = this.claims?.get(type.kind)?.get(field)?.get(value);
    if (claim !== undefined) return claim ?? undefined;
    const owner = this.state.kinds.get(type.kind)?.unique.get(field)?.get(value);
    this.reads.unique(type.kind, field, value, owner);
    return owner?.id;
  }

  private committedMatches(type: EntityType, kindState: KindState, field: string, value: IndexValue): Entity[] {
    if (type.unique.includes(field)) {
      const owner = kindState.unique.get(field)?.get(value);
      this.reads.unique(type.kind, field, value, owner);
      return owner === undefined ? [] : [owner];
    }
    const bucket = kindState.index.get(field)?.get(value);
    this.reads.bucket(type.kind, field, value, bucket?.stamp ?? 0);
    return bucket === undefined ? [] : bucketMembers(bucket);
  }

  /**
   * Replaces committed entities by this transaction's versions and adds its own matches (those
   * whose `fields` equal `where`'s; every entity for no fields). `committed` is sorted by id.
   */
  private overlay<Type extends EntityType>(type: Type, committed: Entity[], fields: readonly string[], where: object): EntityOf<Type>[] {
    const ofKind = this.writes.get(type.kind);
    if (ofKind === undefined) return committed as EntityOf<Type>[];
    const result = new Map<string, Entity>();
    for (const entity of committed) {
      if (ofKind?.has(entity.id) !== true) result.set(entity.id, entity);
    }
    for (const write of ofKind?.values() ?? []) {
      if (write.after !== undefined && matchesWhere(write.after, fields, where)) result.set(write.id, write.after);
    }
    return [...result.values()].sort(byEntityId) as EntityOf<Type>[];
  }

  private kindState(type: EntityType): KindState {
    const registered = this.state.types.get(type?.kind);
    if (registered === undefined) throw new UnknownEntityTypeError(String(type?.kind));
    return this.state.kindState(type.kind);
  }

  private checkOpen(): void {
    if (this.finished) throw new TransactionFinishedError();
  }
}

/**
 * The data an entity has once written: what was given, or, for a type that writes an older
 * schema version than its own (a rolling upgrade), what folding the stored older form gives
 * back, so that the transaction sees the state its record will make.
 */
function writtenData(type: EntityType, parsed: JsonObject, id: string): JsonObject {
  return type.writeVersion === type.version ? parsed : type.toStored(parsed, id).data;
}

/** Whether the entity's `fields` equal `where`'s. A module function: `find` makes no closure for it. */
function matchesWhere(entity: Entity, fields: readonly string[], where: object): boolean {
  for (const field of fields) if (fieldValue(entity, field) !== (where as Record<string, unknown>)[field]) return false;
  return true;
}

function checkWhere(type: EntityType, where: object): string[] {
  if (typeof where !== 'object' || where === null) throw new InvalidArgumentError('where', 'must be an object of field values');
  const fields = Object.keys(where);
  if (fields.length === 0) throw new InvalidArgumentError('where', 'needs at least one field; use list() for all');
  for (const field of fields) {
    if (!type.unique.includes(field) && !type.index.includes(field)) throw new NotIndexedError({ kind: type.kind, field });
    if (!isIndexValue((where as Record<string, unknown>)[field])) {
      throw new InvalidArgumentError('where', `${type.kind}.${field} must be compared with a string, number, boolean or null`);
    }
  }
  // A unique field first: its lookup reads one owner instead of a whole bucket.
  return fields.sort((a, b) => Number(type.unique.includes(b)) - Number(type.unique.includes(a)));
}

function checkIndexable(type: EntityType, id: string, field: string, value: unknown): void {
  if (!isIndexValue(value)) {
    throw new ValidationError({
      kind: type.kind,
      id,
      issues: [{ path: [field], code: 'not_indexable', message: 'an indexed field must hold a string, number, boolean or null' }],
    });
  }
}

function checkExpectedVersion(entity: Entity, expected: number | undefined): void {
  if (expected === undefined) return;
  if (!Number.isSafeInteger(expected) || expected < 1) throw new InvalidArgumentError('expectedVersion', 'must be an integer >= 1');
  if (entity.version !== expected) {
    throw new VersionMismatchError({ kind: entity.kind, id: entity.id, expected, actual: entity.version });
  }
}

function applyRecipe(type: EntityType, current: Entity, recipe: (draft: never) => unknown): unknown {
  let next: unknown;
  try {
    next = produce(current.data, recipe as never);
  } catch (error) {
    // Errors of the recipe's own code pass through; immer's refusals of what a recipe did are misuse.
    if (error instanceof Error && error.message.startsWith('[Immer]')) throw new InvalidArgumentError('recipe', error.message);
    throw error;
  }
  if (typeof next === 'object' && next !== null) type.checkEnvelope(next, current.id);
  return next;
}

function mergePatch(type: EntityType, current: Entity, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new ValidationError({
      kind: type.kind,
      id: current.id,
      issues: [{ path: [], code: 'invalid_type', message: 'an update is a recipe function or a partial object' }],
    });
  }
  type.checkEnvelope(patch, current.id);
  return Object.assign({}, current.data, patch);
}

/** Metadata goes into the record as it is: it must be a JSON object (normalized and frozen). */
export function jsonMeta(meta: unknown): JsonObject {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw new InvalidArgumentError('meta', 'must be a JSON object');
  try {
    return frozenJson(meta) as JsonObject;
  } catch (error) {
    if (!(error instanceof NotJsonError)) throw error;
    throw new InvalidArgumentError('meta', `${error.path.join('.') || '(root)'}: ${error.message}`);
  }
}
