/**
 * Every error Ordo throws on purpose extends `OrdoError` and carries a stable string `code`.
 * Callers should branch on `code` (or `isOrdoError(error, code)`), never on the message: the
 * shape check works even when two copies of the package are installed side by side.
 *
 * The codes of Ordo's own errors form the closed union `OrdoErrorCode`, so that a misspelt
 * code does not compile. Operation errors (`OperationError`) carry codes that plans and
 * adapters choose: those stay open strings (`isOrdoError(error) && error.code === 'IP_TAKEN'`).
 */

import type { LogRecord } from './record.js';

const ordoErrorMark = Symbol.for('@ordo/error');

export interface EntityRef {
  readonly kind: string;
  readonly id: string;
}

export class OrdoError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly [ordoErrorMark] = true;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** True when `error` is an Ordo error (from any copy of the package), of any code. */
export function isOrdoError(error: unknown): error is OrdoError;
/** True when `error` is the Ordo error with this code (from any copy of the package). */
export function isOrdoError<Code extends OrdoErrorCode>(error: unknown, code: Code): error is OrdoErrorOf<Code>;
export function isOrdoError(error: unknown, code?: OrdoErrorCode): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const marked = (error as Record<symbol, unknown>)[ordoErrorMark] === true;
  if (!marked || typeof (error as { code?: unknown }).code !== 'string') return false;
  return code === undefined || (error as OrdoError).code === code;
}

export interface ValidationIssue {
  /** Field path inside the entity data or operation input, e.g. `['nics', 0, 'ip']`. */
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** The zod issue code (`invalid_type`, `unrecognized_keys`...) or an Ordo one (`immutable_field`). */
  readonly code: string;
}

/** Data does not pass its schema. Nothing was written. */
export class ValidationError extends OrdoError<'VALIDATION_FAILED'> {
  readonly kind: string;
  readonly id: string | undefined;
  readonly issues: readonly ValidationIssue[];

  constructor(input: { kind: string; id?: string | undefined; issues: readonly ValidationIssue[] }) {
    const where = input.id === undefined ? input.kind : `${input.kind} ${input.id}`;
    const first = input.issues[0];
    const path = first && first.path.length > 0 ? first.path.join('.') : '(root)';
    const detail = first ? `${path}: ${first.message}` : 'invalid';
    const more = input.issues.length > 1 ? ` (and ${input.issues.length - 1} more)` : '';
    super('VALIDATION_FAILED', `invalid ${where}: ${detail}${more}`);
    this.kind = input.kind;
    this.id = input.id;
    this.issues = input.issues;
  }
}

export class NotFoundError extends OrdoError<'NOT_FOUND'> {
  readonly kind: string;
  readonly id: string;

  constructor(ref: EntityRef) {
    super('NOT_FOUND', `${ref.kind} ${ref.id} does not exist`);
    this.kind = ref.kind;
    this.id = ref.id;
  }
}

/** `create` with an explicit id that an entity of the kind already has. */
export class AlreadyExistsError extends OrdoError<'ALREADY_EXISTS'> {
  readonly kind: string;
  readonly id: string;

  constructor(ref: EntityRef) {
    super('ALREADY_EXISTS', `${ref.kind} ${ref.id} already exists`);
    this.kind = ref.kind;
    this.id = ref.id;
  }
}

/** A transaction kept conflicting with concurrent commits until its retries were spent. */
export class ConflictError extends OrdoError<'CONFLICT'> {
  /** The entities (and predicate reads, as `kind` with `id` '*' or `field=value`) that changed under it. */
  readonly conflicts: readonly EntityRef[];
  readonly attempts: number;

  constructor(input: { conflicts: readonly EntityRef[]; attempts: number }) {
    const names = input.conflicts.map((ref) => `${ref.kind} ${ref.id}`).join(', ');
    super('CONFLICT', `transaction conflicted ${input.attempts} times; last conflict on ${names || 'unknown reads'}`);
    this.conflicts = input.conflicts;
    this.attempts = input.attempts;
  }
}

/** The caller's precondition (`expectedVersion`) failed. Never retried. */
export class VersionMismatchError extends OrdoError<'VERSION_MISMATCH'> {
  readonly kind: string;
  readonly id: string;
  readonly expected: number;
  readonly actual: number;

  constructor(input: EntityRef & { expected: number; actual: number }) {
    super('VERSION_MISMATCH', `${input.kind} ${input.id} is at version ${input.actual}, expected ${input.expected}`);
    this.kind = input.kind;
    this.id = input.id;
    this.expected = input.expected;
    this.actual = input.actual;
  }
}

/**
 * A unique value is taken. From a write, nothing was written. From folding (a unique constraint
 * new to this code, or one on migrated values, that the log's data breaks), the store refuses
 * to open or, in catch-up, stops; `ids` then names every entity found holding the value.
 */
export class UniqueViolationError extends OrdoError<'UNIQUE_VIOLATION'> {
  readonly kind: string;
  readonly field: string;
  readonly value: unknown;
  readonly existingId: string;
  readonly ids: readonly string[];

  constructor(input: { kind: string; field: string; value: unknown; existingId: string; ids?: readonly string[] }) {
    const others = input.ids === undefined ? '' : ` (held by ${input.ids.join(' and ')} in the folded log)`;
    super(
      'UNIQUE_VIOLATION',
      `${input.kind}.${input.field} = ${JSON.stringify(input.value)} is already taken by ${input.kind} ${input.existingId}${others}`,
    );
    this.kind = input.kind;
    this.field = input.field;
    this.value = input.value;
    this.existingId = input.existingId;
    this.ids = input.ids ?? [input.existingId];
  }
}

/** Where folding met data it refused: the entity and the record (or snapshot) position. */
export interface StoredDataRef {
  readonly kind: string;
  readonly id: string;
  readonly position: number;
}

/**
 * A migration step threw, returned something that is not a JSON object, or the migrated data
 * fails the current schema. `from` is the version the data was stored at, `to` the version
 * the failing step leads to. The log is unchanged; fix the migration and open again.
 */
export class MigrationFailedError extends OrdoError<'MIGRATION_FAILED'> {
  readonly kind: string;
  readonly id: string;
  readonly position: number;
  readonly from: number;
  readonly to: number;
  readonly issues: readonly ValidationIssue[];

  constructor(input: StoredDataRef & { from: number; to: number; issues?: readonly ValidationIssue[]; cause?: unknown }) {
    const first = input.issues?.[0];
    const detail = first !== undefined ? `${first.path.join('.') || '(root)'}: ${first.message}` : String((input.cause as Error | undefined)?.message ?? input.cause);
    super(
      'MIGRATION_FAILED',
      `migration of ${input.kind} ${input.id} (record ${input.position}) from version ${input.from} to ${input.to} failed: ${detail}`,
      { cause: input.cause },
    );
    this.kind = input.kind;
    this.id = input.id;
    this.position = input.position;
    this.from = input.from;
    this.to = input.to;
    this.issues = input.issues ?? [];
  }
}

/**
 * The log or a snapshot holds data of a schema version this code cannot read: newer than the
 * entity type's `version` (another process runs newer code), or older than its oldest
 * migration step (the step was deleted while data still needs it). Nothing was folded.
 */
export class SchemaVersionUnsupportedError extends OrdoError<'SCHEMA_VERSION_UNSUPPORTED'> {
  readonly kind: string;
  readonly found: number;
  /** The entity type's version: the newest this code reads. */
  readonly supported: number;
  /** The oldest version this code can migrate from. */
  readonly oldest: number;
  readonly id: string | undefined;
  readonly position: number | undefined;

  constructor(input: { kind: string; found: number; supported: number; oldest: number; id?: string; position?: number }) {
    const where = input.id === undefined ? '' : ` (${input.kind} ${input.id}, record ${String(input.position)})`;
    super(
      'SCHEMA_VERSION_UNSUPPORTED',
      `${input.kind} data of schema version ${String(input.found)}${where} cannot be read: this code reads versions ${input.oldest} to ${input.supported}`,
    );
    this.kind = input.kind;
    this.found = input.found;
    this.supported = input.supported;
    this.oldest = input.oldest;
    this.id = input.id;
    this.position = input.position;
  }
}

/**
 * Stored data of the type's current version fails the current schema: the schema changed
 * without a version bump. Bump `version` and add a migration step, or restore the schema.
 */
export class SchemaMismatchError extends OrdoError<'SCHEMA_MISMATCH'> {
  readonly kind: string;
  readonly id: string;
  readonly position: number;
  readonly issues: readonly ValidationIssue[];

  constructor(input: StoredDataRef & { issues: readonly ValidationIssue[] }) {
    const first = input.issues[0];
    const detail = first === undefined ? 'invalid' : `${first.path.join('.') || '(root)'}: ${first.message}`;
    super('SCHEMA_MISMATCH', `${input.kind} ${input.id} (record ${input.position}) fails the current schema of its version: ${detail}`);
    this.kind = input.kind;
    this.id = input.id;
    this.position = input.position;
    this.issues = input.issues;
  }
}

/** The codes of the refusals of folding stored data this code cannot read (I6): they stop a store. */
export const foldRefusalCodes: ReadonlySet<string> = new Set<OrdoErrorCode>(['MIGRATION_FAILED', 'SCHEMA_VERSION_UNSUPPORTED', 'SCHEMA_MISMATCH', 'UNIQUE_VIOLATION']);

export class StoreClosedError extends OrdoError<'STORE_CLOSED'> {
  constructor() {
    super('STORE_CLOSED', 'the store is closed');
  }
}

/** The store was not opened with this entity type. */
export class UnknownEntityTypeError extends OrdoError<'UNKNOWN_ENTITY_TYPE'> {
  readonly kind: string;

  constructor(kind: string) {
    super('UNKNOWN_ENTITY_TYPE', `entity type '${kind}' is not registered with this store`);
    this.kind = kind;
  }
}

/** `find` on a field that is neither in `index` nor in `unique` of its entity type. */
export class NotIndexedError extends OrdoError<'NOT_INDEXED'> {
  readonly kind: string;
  readonly field: string;

  constructor(input: { kind: string; field: string }) {
    super('NOT_INDEXED', `${input.kind}.${input.field} is not indexed; add it to 'index' or 'unique' of defineEntity`);
    this.kind = input.kind;
    this.field = input.field;
  }
}

/** An argument of an Ordo call is out of range or malformed (retries, limits, positions, definitions). */
export class InvalidArgumentError extends OrdoError<'INVALID_ARGUMENT'> {
  readonly argument: string;

  constructor(argument: string, message: string) {
    super('INVALID_ARGUMENT', `${argument}: ${message}`);
    this.argument = argument;
  }
}

/**
 * `queuedCommitsMax` commits already wait for the next append: the log store does not keep up.
 * Nothing of this transaction was written; it may be run again later.
 */
export class CommitQueueFullError extends OrdoError<'COMMIT_QUEUE_FULL'> {
  readonly queued: number;
  readonly queuedMax: number;

  constructor(input: { queued: number; queuedMax: number }) {
    super('COMMIT_QUEUE_FULL', `${input.queued} commits already wait for the log store (queuedCommitsMax ${input.queuedMax}); try again later`);
    this.queued = input.queued;
    this.queuedMax = input.queuedMax;
  }
}

/** `store.snapshot()` on a log store that keeps no snapshots (it has no `writeSnapshot`). */
export class SnapshotUnsupportedError extends OrdoError<'SNAPSHOT_UNSUPPORTED'> {
  readonly store: string;

  constructor(store: string) {
    super('SNAPSHOT_UNSUPPORTED', `the ${store} log store keeps no snapshots`);
    this.store = store;
  }
}

/**
 * A transaction with a requestId returned a value that is not JSON data: the value is stored
 * in the record so that a replay can return it. Nothing was written.
 */
export class ResultNotJsonError extends OrdoError<'RESULT_NOT_JSON'> {
  readonly requestId: string;

  constructor(input: { requestId: string; reason: string }) {
    super('RESULT_NOT_JSON', `the transaction with requestId ${input.requestId} must return JSON data: ${input.reason}`);
    this.requestId = input.requestId;
  }
}

/** A record is larger than its log store can hold in one piece. Nothing of its batch was written. */
export class RecordTooLargeError extends OrdoError<'RECORD_TOO_LARGE'> {
  readonly store: string;
  readonly position: number;
  readonly bytesMax: number;

  constructor(input: { store: string; position: number; bytesMax: number }) {
    super('RECORD_TOO_LARGE', `${input.store} log store: record ${input.position} encodes to more than ${input.bytesMax} bytes`);
    this.store = input.store;
    this.position = input.position;
    this.bytesMax = input.bytesMax;
  }
}

/** A transaction handle was used after its function returned. */
export class TransactionFinishedError extends OrdoError<'TRANSACTION_FINISHED'> {
  constructor() {
    super('TRANSACTION_FINISHED', 'this transaction has finished; its handle cannot be used any more');
  }
}

/** A watcher or reader asked for records that the log store no longer holds (pruned behind a snapshot). */
export class HistoryUnavailableError extends OrdoError<'HISTORY_UNAVAILABLE'> {
  readonly requested: number;
  readonly firstAvailable: number;

  constructor(input: { requested: number; firstAvailable: number }) {
    super(
      'HISTORY_UNAVAILABLE',
      `record ${input.requested} is no longer available; the log starts at ${input.firstAvailable}`,
    );
    this.requested = input.requested;
    this.firstAvailable = input.firstAvailable;
  }
}

/** `append` was asked to write at a position other than head + 1: another writer moved the head. */
export class LogHeadMovedError extends OrdoError<'LOG_HEAD_MOVED'> {
  readonly expected: number;
  readonly actual: number;
  /**
   * Records from position `expected` on that the store read while finding out it lost the race,
   * when it did (PostgreSQL): committed records, in order, up to `actual` or fewer. The owner
   * folds them instead of reading them again. Undefined when the store read none.
   */
  readonly records: readonly LogRecord[] | undefined;

  constructor(input: { expected: number; actual: number; records?: readonly LogRecord[] | undefined }) {
    super('LOG_HEAD_MOVED', `append expected to start at ${input.expected}, but the log head is at ${input.actual}`);
    this.expected = input.expected;
    this.actual = input.actual;
    this.records = input.records;
  }
}

/**
 * The log's stored data is damaged before its tail (a checksum, a frame or a row that does not
 * hold what it must). Ordo refuses to open or read past an acknowledged record (I8).
 */
export class LogCorruptError extends OrdoError<'LOG_CORRUPT'> {
  /** The log store's name: 'file', 'postgres'. */
  readonly store: string;
  /** Where the damage is: a file's path for the file store, a table for PostgreSQL. */
  readonly location: string;
  /** The position of the record concerned, when the store knows it. */
  readonly position: number | undefined;
  /** The byte offset inside `location`, for stores that keep files. */
  readonly offset: number | undefined;

  constructor(input: { store: string; location: string; position?: number; offset?: number; reason: string }) {
    const at = input.offset !== undefined ? ` at byte ${input.offset}` : input.position !== undefined ? ` at position ${input.position}` : '';
    super('LOG_CORRUPT', `${input.store} log store: log corrupt in ${input.location}${at}: ${input.reason}`);
    this.store = input.store;
    this.location = input.location;
    this.position = input.position;
    this.offset = input.offset;
  }
}

/** Another process holds the log for writing. */
export class LogLockedError extends OrdoError<'LOG_LOCKED'> {
  readonly path: string;
  readonly holder: string | undefined;

  constructor(input: { path: string; holder?: string | undefined }) {
    const by = input.holder === undefined ? '' : ` by ${input.holder}`;
    super('LOG_LOCKED', `${input.path} is locked for writing${by}`);
    this.path = input.path;
    this.holder = input.holder;
  }
}

/**
 * The log store failed to read or write (I/O error, lost connection). For a failed append,
 * `outcome` says whether the store knows the batch is not in the log ('not-written') or cannot
 * tell ('unknown'); see `LogStore.append` for what a store does next.
 */
export class LogStoreError extends OrdoError<'LOG_STORE_FAILED'> {
  readonly store: string;
  readonly outcome: 'not-written' | 'unknown';

  constructor(input: { store: string; message: string; cause?: unknown; outcome?: 'not-written' | 'unknown' }) {
    super('LOG_STORE_FAILED', `${input.store} log store: ${input.message}`, { cause: input.cause });
    this.store = input.store;
    this.outcome = input.outcome ?? 'unknown';
  }
}

/**
 * A follower's link to the leader of a shared log broke while it had commits there, and that
 * leader is fenced now: each of those commits is in the log already or never will be. The
 * store reads the log to tell which; callers do not see this error.
 */
export class RelayFencedError extends OrdoError<'RELAY_FENCED'> {
  readonly store: string;
  readonly txIds: readonly string[];

  constructor(input: { store: string; txIds: readonly string[]; cause?: unknown }) {
    super('RELAY_FENCED', `${input.store} log store: the leader that ${input.txIds.length} forwarded commit(s) went to is fenced`, { cause: input.cause });
    this.store = input.store;
    this.txIds = input.txIds;
  }
}

/** The log store was opened read-only and cannot append. */
export class LogReadOnlyError extends OrdoError<'LOG_READ_ONLY'> {
  readonly store: string;

  constructor(store: string) {
    super('LOG_READ_ONLY', `${store} log store was opened read-only`);
    this.store = store;
  }
}

/** A broken invariant: a bug in Ordo. Never caught inside Ordo. */
export class InternalError extends OrdoError<'INTERNAL'> {
  constructor(message: string) {
    super('INTERNAL', `internal invariant broken: ${message}`);
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InternalError(message);
}

/** Each Ordo error class by its code; `isOrdoError(error, code)` narrows to the class. */
interface OrdoErrorsByCode {
  VALIDATION_FAILED: ValidationError;
  NOT_FOUND: NotFoundError;
  ALREADY_EXISTS: AlreadyExistsError;
  CONFLICT: ConflictError;
  VERSION_MISMATCH: VersionMismatchError;
  UNIQUE_VIOLATION: UniqueViolationError;
  MIGRATION_FAILED: MigrationFailedError;
  SCHEMA_VERSION_UNSUPPORTED: SchemaVersionUnsupportedError;
  SCHEMA_MISMATCH: SchemaMismatchError;
  STORE_CLOSED: StoreClosedError;
  UNKNOWN_ENTITY_TYPE: UnknownEntityTypeError;
  NOT_INDEXED: NotIndexedError;
  INVALID_ARGUMENT: InvalidArgumentError;
  RESULT_NOT_JSON: ResultNotJsonError;
  RECORD_TOO_LARGE: RecordTooLargeError;
  COMMIT_QUEUE_FULL: CommitQueueFullError;
  SNAPSHOT_UNSUPPORTED: SnapshotUnsupportedError;
  TRANSACTION_FINISHED: TransactionFinishedError;
  HISTORY_UNAVAILABLE: HistoryUnavailableError;
  LOG_HEAD_MOVED: LogHeadMovedError;
  LOG_CORRUPT: LogCorruptError;
  LOG_LOCKED: LogLockedError;
  LOG_STORE_FAILED: LogStoreError;
  LOG_READ_ONLY: LogReadOnlyError;
  RELAY_FENCED: RelayFencedError;
  INTERNAL: InternalError;
}

/** The code of every error Ordo itself throws (operation errors have codes of their own). */
export type OrdoErrorCode = keyof OrdoErrorsByCode;

/** The Ordo error class with this code. */
export type OrdoErrorOf<Code extends OrdoErrorCode> = OrdoErrorsByCode[Code];

// Each class in the map carries its own key as its code: a mismatch fails to compile here.
type CodesMatch = { [Code in OrdoErrorCode]: OrdoErrorsByCode[Code]['code'] extends Code ? (Code extends OrdoErrorsByCode[Code]['code'] ? true : false) : false };
const codesMatch: { [Code in OrdoErrorCode]: true } = {} as CodesMatch;
void codesMatch;
