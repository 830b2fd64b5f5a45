import type { EntityType } from './entity-type.js';
import { assert, InternalError } from './errors.js';
import { deepFreeze } from './freeze.js';
import { fieldValue, KindState } from './kind-state.js';
import type { Change, Entity, JsonObject, JsonValue, LogRecord } from './record.js';
import { TouchClock } from './touch-clock.js';

/** A create or update: a change that carries data. */
type DataChange = Exclude<Change, { readonly op: 'delete' }>;

/**
 * What a record with a requestId answered, kept so that a replay returns it (I7): the record's
 * position and txId, and the transaction's value as frozen JSON (undefined when it returned
 * nothing). Returned by `store.outcome`.
 */
export interface RequestOutcome {
  readonly position: number;
  readonly txId: string;
  readonly result: JsonValue | undefined;
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
  /** When entities and values last changed; kept only while the store leads a commit relay. */
  touches: TouchClock | undefined = undefined;

  constructor(readonly types: ReadonlyMap<string, EntityType>) {
    for (const type of types.values()) this.kinds.set(type.kind, new KindState(type.kind, type.unique, type.index, type));
  }

  /** Starts keeping `touches`, from the current position on. */
  trackTouches(): TouchClock {
    return (this.touches ??= new TouchClock(this.position));
  }

  /** Stops keeping `touches`: a later `trackTouches` starts a clock that knows nothing before it. */
  dropTouches(): void {
    this.touches = undefined;
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
    this.checkNext(record);
    // A record built from this store's transaction changes each entity once by construction.
    if (prepared === undefined && record.changes.length > 1) checkDistinct(record);
    const { position } = record;
    if (record.schemas !== undefined) this.noteMarks(record.schemas);
    // Every change's image is built (migrated, checked) before any is applied: data this code
    // refuses leaves the state as it was.
    const changes = record.changes.map((change, index) => this.imagesOf(change, position, prepared?.[index]));
    for (const { kind, before, after } of changes) if (before !== undefined) this.kindState(kind).unindex(before, position, after);
    for (const { kind, id, after } of changes) {
      if (after === undefined) this.kindState(kind).remove(id, position);
      else this.kindState(kind).add(after, position);
    }
    if (this.touches !== undefined) for (const { kind, id, before, after } of changes) this.noteTouch(kind, id, before, after, position);
    this.noteRequest(record);
    this.position = position;
    return changes;
  }

  /**
   * Applies one record read back from the log (catch-up, replay at open): the same result as
   * `fold`, without building change images nobody asked for. Replay of a long log is mostly
   * records of one change, which take a path with no allocation besides the new entity.
   */
  replay(record: LogRecord): void {
    const change = record.changes.length === 1 ? record.changes[0] : undefined;
    if (change === undefined) {
      this.fold(record);
      return;
    }
    this.checkNext(record);
    const { position } = record;
    if (record.schemas !== undefined) this.noteMarks(record.schemas);
    const kindState = this.kindState(change.kind);
    const before = kindState.entities.get(change.id);
    checkVersion(change, before);
    const after = change.op === 'delete' ? undefined : storedEntity(change, kindState, position);
    if (before !== undefined) kindState.unindex(before, position, after);
    if (after === undefined) kindState.remove(change.id, position);
    else kindState.add(after, position);
    if (this.touches !== undefined) this.noteTouch(change.kind, change.id, before, after, position);
    this.noteRequest(record);
    this.position = position;
  }

  /**
   * The images a change would have if it were folded now, without folding it: for a commit
   * relayed by another process, whose changes the leader checks and indexes before it appends
   * them. Throws what folding would throw for data this code cannot read (I6).
   */
  previewImages(change: Change, marks: { readonly [kind: string]: string } | undefined): EntityChange {
    const kindState = this.kindState(change.kind);
    const before = kindState.entities.get(change.id);
    const { kind, id, op } = change;
    if (op === 'delete') return before === undefined ? { kind, id, op } : { kind, id, op, before };
    const mark = marks?.[kind];
    const trusted = (change.schemaVersion ?? 1) === kindState.trustedVersion && (mark === undefined || mark === kindState.type?.fingerprint);
    const { type } = kindState;
    const data = trusted || type === undefined ? change.data : type.readStored(change.data, change.schemaVersion ?? 1, { kind, id, position: this.position + 1 });
    const after: Entity = { id, kind, version: change.version, data };
    return before === undefined ? { kind, id, op, after } : { kind, id, op, before, after };
  }

  private noteTouch(kind: string, id: string, before: Entity | undefined, after: Entity | undefined, position: number): void {
    const touches = this.touches as TouchClock;
    touches.entity(kind, id, position);
    const type = this.types.get(kind);
    if (type === undefined) return;
    for (const field of type.unique) touchValue(touches, kind, field, before, after, position);
    for (const field of type.index) touchValue(touches, kind, field, before, after, position);
  }

  private checkNext(record: LogRecord): void {
    if (record.position !== this.position + 1) throw new InternalError(`fold of record ${record.position} at position ${this.position}`);
  }

  private noteMarks(schemas: { readonly [kind: string]: string }): void {
    for (const kind of Object.keys(schemas)) this.kindState(kind).setMark(schemas[kind]);
  }

  private noteRequest(record: LogRecord): void {
    if (record.requestId === undefined) return;
    // One lookup in the map of every request of the log, not two: a requestId known already
    // leaves its size as it was. The state is broken then anyway (the record's changes are
    // applied), and the store stops on the InternalError.
    const known = this.requests.size;
    this.requests.set(record.requestId, requestOutcome(record.position, record.txId, record.result));
    assert(this.requests.size > known, `requestId ${record.requestId} logged twice`);
  }

  private imagesOf(change: Change, position: number, prepared: EntityChange | undefined): EntityChange {
    const kindState = this.kindState(change.kind);
    const before = kindState.entities.get(change.id);
    const { kind, id, op } = change;
    checkVersion(change, before);
    // The committing transaction built these images already; they hold if they describe
    // exactly this change from exactly the current entity (which its validation ensured).
    if (prepared !== undefined && prepared.before === before && prepared.op === op && prepared.id === id) {
      const after = prepared.after;
      if (op === 'delete' ? after === undefined : after?.version === change.version && isStoredForm(kindState, after.data, change)) {
        if (op !== 'delete') noteStoredVersion(kindState, id, change.schemaVersion ?? 1);
        return prepared;
      }
    }
    const after = op === 'delete' ? undefined : storedEntity(change, kindState, position);
    if (before === undefined) return { kind, id, op, after: after as Entity };
    return after === undefined ? { kind, id, op, before } : { kind, id, op, before, after };
  }
}

function touchValue(touches: TouchClock, kind: string, field: string, before: Entity | undefined, after: Entity | undefined, position: number): void {
  if (before !== undefined) touches.value(kind, field, fieldValue(before, field), position);
  if (after !== undefined) touches.value(kind, field, fieldValue(after, field), position);
}

/**
 * What a request answered, frozen: replays hand `result` to callers as it is, and a record read
 * back from the log (or a snapshot) is not frozen yet.
 */
export function requestOutcome(position: number, txId: string, result: JsonValue | undefined): RequestOutcome {
  return Object.freeze({ position, txId, result: result === undefined ? undefined : deepFreeze(result) });
}

/** Each change of a record is to another entity: its images are computed from the state before the record. */
function checkDistinct(record: LogRecord): void {
  const { changes } = record;
  // Most records change a few entities: comparing pairs allocates nothing.
  if (changes.length <= 16) {
    for (let later = 1; later < changes.length; later += 1) {
      const { kind, id } = changes[later]!;
      for (let earlier = 0; earlier < later; earlier += 1) {
        if (changes[earlier]!.id === id && changes[earlier]!.kind === kind) throw new InternalError(`record ${record.position} changes ${kind} ${id} twice`);
      }
    }
    return;
  }
  const seen = new Map<string, Set<string>>();
  for (const { kind, id } of record.changes) {
    let ids = seen.get(kind);
    if (ids === undefined) seen.set(kind, (ids = new Set()));
    if (ids.has(id)) throw new InternalError(`record ${record.position} changes ${kind} ${id} twice`);
    ids.add(id);
  }
}

/** A create needs a free id, an update or delete the entity at the version just before its own. */
function checkVersion(change: Change, before: Entity | undefined): void {
  const valid = change.op === 'create' ? before === undefined : before !== undefined && before.version + 1 === change.version;
  if (!valid) throw new InternalError(change.op === 'create' ? `create of existing ${change.kind} ${change.id}` : `${change.op} of ${change.kind} ${change.id} skips a version`);
}

/**
 * The frozen entity a create or update change makes. Data of the type's current version under
 * a trusted mark is taken as it is (the fast path of replay); anything else is migrated and
 * checked against the current schema, or refused (I6). `kind` is the state's own string for
 * the change's kind: a record read back from the log carries a copy per change, and a million
 * entities should not keep a million copies.
 */
function storedEntity(change: DataChange, kindState: KindState, position: number): Entity {
  const schemaVersion = change.schemaVersion ?? 1;
  let data: JsonObject;
  if (schemaVersion === kindState.trustedVersion) {
    data = deepFreeze(change.data);
    if (kindState.storedVersions.size > 0) kindState.storedVersions.delete(change.id);
  } else {
    const { type } = kindState;
    data = type === undefined ? deepFreeze(change.data) : type.readStored(change.data, schemaVersion, { kind: kindState.kind, id: change.id, position });
    noteStoredVersion(kindState, change.id, schemaVersion);
  }
  return Object.freeze({ id: change.id, kind: kindState.kind, version: change.version, data });
}

/** Keeps `storedVersions` (what `store.migrate` rewrites, what snapshots of unknown kinds record) current. */
export function noteStoredVersion(kindState: KindState, id: string, schemaVersion: number): void {
  if (schemaVersion !== (kindState.type?.version ?? 1)) kindState.storedVersions.set(id, schemaVersion);
  else if (kindState.storedVersions.size > 0) kindState.storedVersions.delete(id);
}

/** The committing transaction's image holds what the change stores: the same data, or data written back to an older version. */
function isStoredForm(kindState: KindState, data: JsonObject, change: DataChange): boolean {
  return data === change.data || kindState.type?.storedFormOf(data) === change.data;
}
