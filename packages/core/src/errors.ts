/**
 * Every error Ordo throws on purpose extends `OrdoError` and carries a stable string `code`.
 * Callers should branch on `code` (or `isOrdoError(error, code)`), never on the message: the
 * shape check works even when two copies of the package are installed side by side.
 */

const ordoErrorMark = Symbol.for('@ordo/error');

export interface EntityRef {
  readonly kind: string;
  readonly id: string;
}

export class OrdoError extends Error {
  readonly code: string;
  readonly [ordoErrorMark] = true;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** True when `error` is an Ordo error (from any copy of the package), optionally with the given code. */
export function isOrdoError(error: unknown, code?: string): error is OrdoError {
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
export class ValidationError extends OrdoError {
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

export class NotFoundError extends OrdoError {
  readonly kind: string;
  readonly id: string;

  constructor(ref: EntityRef) {
    super('NOT_FOUND', `${ref.kind} ${ref.id} does not exist`);
    this.kind = ref.kind;
    this.id = ref.id;
  }
}

/** `create` with an explicit id that an entity of the kind already has. */
export class AlreadyExistsError extends OrdoError {
  readonly kind: string;
  readonly id: string;

  constructor(ref: EntityRef) {
    super('ALREADY_EXISTS', `${ref.kind} ${ref.id} already exists`);
    this.kind = ref.kind;
    this.id = ref.id;
  }
}

/** A transaction kept conflicting with concurrent commits until its retries were spent. */
export class ConflictError extends OrdoError {
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
export class VersionMismatchError extends OrdoError {
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
export class UniqueViolationError extends OrdoError {
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
export class MigrationFailedError extends OrdoError {
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
export class SchemaVersionUnsupportedError extends OrdoError {
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
export class SchemaMismatchError extends OrdoError {
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
export const foldRefusalCodes: readonly string[] = ['MIGRATION_FAILED', 'SCHEMA_VERSION_UNSUPPORTED', 'SCHEMA_MISMATCH', 'UNIQUE_VIOLATION'];

export class StoreClosedError extends OrdoError {
  constructor() {
    super('STORE_CLOSED', 'the store is closed');
  }
}

/** The store was not opened with this entity type. */
export class UnknownEntityTypeError extends OrdoError {
  readonly kind: string;

  constructor(kind: string) {
    super('UNKNOWN_ENTITY_TYPE', `entity type '${kind}' is not registered with this store`);
    this.kind = kind;
  }
}

/** `find` on a field that is neither in `index` nor in `unique` of its entity type. */
export class NotIndexedError extends OrdoError {
  readonly kind: string;
  readonly field: string;

  constructor(input: { kind: string; field: string }) {
    super('NOT_INDEXED', `${input.kind}.${input.field} is not indexed; add it to 'index' or 'unique' of defineEntity`);
    this.kind = input.kind;
    this.field = input.field;
  }
}

/** An argument of an Ordo call is out of range or malformed (retries, limits, positions, definitions). */
export class InvalidArgumentError extends OrdoError {
  readonly argument: string;

  constructor(argument: string, message: string) {
    super('INVALID_ARGUMENT', `${argument}: ${message}`);
    this.argument = argument;
  }
}

/** A transaction handle was used after its function returned. */
export class TransactionFinishedError extends OrdoError {
  constructor() {
    super('TRANSACTION_FINISHED', 'this transaction has finished; its handle cannot be used any more');
  }
}

/** A watcher or reader asked for records that the log store no longer holds (pruned behind a snapshot). */
export class HistoryUnavailableError extends OrdoError {
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
export class LogHeadMovedError extends OrdoError {
  readonly expected: number;
  readonly actual: number;

  constructor(input: { expected: number; actual: number }) {
    super('LOG_HEAD_MOVED', `append expected to start at ${input.expected}, but the log head is at ${input.actual}`);
    this.expected = input.expected;
    this.actual = input.actual;
  }
}

/** The log's bytes are damaged before its tail. Ordo refuses to open past an acknowledged record. */
export class LogCorruptError extends OrdoError {
  readonly file: string;
  readonly offset: number;

  constructor(input: { file: string; offset: number; reason: string }) {
    super('LOG_CORRUPT', `log corrupt in ${input.file} at byte ${input.offset}: ${input.reason}`);
    this.file = input.file;
    this.offset = input.offset;
  }
}

/** Another process holds the log for writing. */
export class LogLockedError extends OrdoError {
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
export class LogStoreError extends OrdoError {
  readonly store: string;
  readonly outcome: 'not-written' | 'unknown';

  constructor(input: { store: string; message: string; cause?: unknown; outcome?: 'not-written' | 'unknown' }) {
    super('LOG_STORE_FAILED', `${input.store} log store: ${input.message}`, { cause: input.cause });
    this.store = input.store;
    this.outcome = input.outcome ?? 'unknown';
  }
}

/** The log store was opened read-only and cannot append. */
export class LogReadOnlyError extends OrdoError {
  constructor(store: string) {
    super('LOG_READ_ONLY', `${store} log store was opened read-only`);
  }
}

/** A broken invariant: a bug in Ordo. Never caught inside Ordo. */
export class InternalError extends OrdoError {
  constructor(message: string) {
    super('INTERNAL', `internal invariant broken: ${message}`);
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InternalError(message);
}
