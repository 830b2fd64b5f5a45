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

export class UniqueViolationError extends OrdoError {
  readonly kind: string;
  readonly field: string;
  readonly value: unknown;
  readonly existingId: string;

  constructor(input: { kind: string; field: string; value: unknown; existingId: string }) {
    super(
      'UNIQUE_VIOLATION',
      `${input.kind}.${input.field} = ${JSON.stringify(input.value)} is already taken by ${input.kind} ${input.existingId}`,
    );
    this.kind = input.kind;
    this.field = input.field;
    this.value = input.value;
    this.existingId = input.existingId;
  }
}

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

/**
 * `queuedCommitsMax` commits already wait for the next append: the log store does not keep up.
 * Nothing of this transaction was written; it may be run again later.
 */
export class CommitQueueFullError extends OrdoError {
  readonly queued: number;
  readonly queuedMax: number;

  constructor(input: { queued: number; queuedMax: number }) {
    super('COMMIT_QUEUE_FULL', `${input.queued} commits already wait for the log store (queuedCommitsMax ${input.queuedMax}); try again later`);
    this.queued = input.queued;
    this.queuedMax = input.queuedMax;
  }
}

/** `store.snapshot()` on a log store that keeps no snapshots (it has no `writeSnapshot`). */
export class SnapshotUnsupportedError extends OrdoError {
  readonly store: string;

  constructor(store: string) {
    super('SNAPSHOT_UNSUPPORTED', `the ${store} log store keeps no snapshots`);
    this.store = store;
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
