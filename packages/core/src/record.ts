/**
 * The log's vocabulary. Records are plain JSON values so that every log store can persist them
 * as they are; the core freezes every record it creates or hands out, so an acknowledged record
 * never changes in memory either (I1).
 */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

/** An entity: `version` is 1 after create and grows by 1 with each committed update. */
export interface Entity<Data = JsonObject, Kind extends string = string> {
  readonly id: string;
  readonly kind: Kind;
  readonly version: number;
  readonly data: Data;
}

/**
 * One entity created, updated or deleted by a record. Updates carry the after-image
 * (`data`): folding never has to interpret patches, and a record alone says what an entity is.
 */
export type Change =
  | { readonly op: 'create'; readonly kind: string; readonly id: string; readonly version: number; readonly data: JsonObject; readonly schemaVersion?: number }
  | { readonly op: 'update'; readonly kind: string; readonly id: string; readonly version: number; readonly data: JsonObject; readonly schemaVersion?: number }
  | { readonly op: 'delete'; readonly kind: string; readonly id: string; readonly version: number };
// `schemaVersion` is the entity type's schema version the data was written at; absent means 1
// (logs from before schema versions read as version 1), and writers leave it out at 1.

/** One committed transaction. */
export interface LogRecord {
  /** 1, 2, 3... with no gap and no duplicate (I1). */
  readonly position: number;
  /** Unique id of the transaction (a ULID by default). */
  readonly txId: string;
  /** Milliseconds since the epoch, from the store's clock, when the record was sequenced. */
  readonly time: number;
  /** The caller's idempotency key (I7). At most one record in a log carries a given requestId. */
  readonly requestId?: string;
  /** The operation name when the operation runtime wrote the record (`vm.create`). */
  readonly operation?: string;
  /** The transaction's return value, kept when `requestId` is set so that a replay can return it. */
  readonly result?: JsonValue;
  /** Free-form metadata for layers above the store (the operation runtime keeps its outcomes here). */
  readonly meta?: JsonObject;
  /**
   * kind -> the fingerprint of the schema the writer wrote this record's data of that kind with
   * (`EntityType.fingerprint`), present only where it differs from the kind's mark before. A
   * reader whose type has the same fingerprint trusts the kind's current-version data without
   * validating it again; any other reader validates it (I6).
   */
  readonly schemas?: { readonly [kind: string]: string };
  readonly changes: readonly Change[];
}

/**
 * The state at a position, in a form a log store can persist as JSON and the core can load
 * without replaying the log. `entities` rows are `[kind, id, version, data, schemaVersion?]`
 * (the schema version when it differs from the kind's in `schemas`); `requests` rows are
 * `[requestId, position, txId, result?]`. Snapshots from before schema versions have no
 * `schemas`: their data reads as version 1, written by the current schema.
 */
export interface Snapshot {
  readonly format: 1;
  readonly position: number;
  readonly entities: readonly (readonly [string, string, number, JsonObject, number?])[];
  readonly requests: readonly (readonly [string, number, string, JsonValue?])[];
  readonly schemas?: { readonly [kind: string]: SnapshotKindSchema };
}

/** What a snapshot says about one kind's data. */
export interface SnapshotKindSchema {
  /** The schema version of the kind's rows (unless a row says otherwise). */
  readonly version: number;
  /** The fingerprint of the schema the rows passed, when the writer's code had the kind. */
  readonly fingerprint?: string;
  /** The kind's mark in the log at the snapshot's position (see `LogRecord.schemas`). */
  readonly mark?: string;
}
