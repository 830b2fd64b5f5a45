// `assert` stays inside: it is the core's own invariant check, not part of the API.
export {
  AlreadyExistsError,
  CommitQueueFullError,
  ConflictError,
  HistoryUnavailableError,
  InternalError,
  InvalidArgumentError,
  isOrdoError,
  LogCorruptError,
  LogHeadMovedError,
  LogLockedError,
  LogReadOnlyError,
  LogStoreError,
  RelayFencedError,
  MigrationFailedError,
  NotFoundError,
  NotIndexedError,
  OrdoError,
  RecordTooLargeError,
  ResultNotJsonError,
  SchemaMismatchError,
  SchemaVersionUnsupportedError,
  SnapshotUnsupportedError,
  StoreClosedError,
  TransactionFinishedError,
  UniqueViolationError,
  UnknownEntityTypeError,
  ValidationError,
  VersionMismatchError,
  type EntityRef,
  type StoredDataRef,
  type OrdoErrorCode,
  type OrdoErrorOf,
  type ValidationIssue,
} from './errors.js';
export type { Change, Entity, JsonObject, JsonValue, LogRecord, Snapshot, SnapshotKindSchema } from './record.js';
export type { LogOpenResult, LogStore } from './log-store.js';
export type { CommitRelay, RelayedCommit, RelayedOutcome, RelayHost } from './commit-relay.js';
export { appendRecordsMax, checkAppendBatch, checkReadRange, checkSnapshot, snapshotBeyondHead } from './log-store-checks.js';
export type { Telemetry, TelemetryAttributes, TelemetryStep } from './telemetry.js';
export { memoryLog, type MemoryLogOptions } from './memory-log.js';
export { defineEntity, type AnyObjectSchema, type DataOf, type EntityType, type EntityTypeOptions, type InputOf, type KindOf, type Migration } from './entity-type.js';
export { schemaVersionMax } from './schema-steps.js';
export { migrateBatchEntitiesDefault, migrateBatchEntitiesMax, type MigrateOptions } from './migrate-entities.js';
export type { Transaction, EntityOf, Recipe, Where } from './transaction.js';
export type { EntityChange, RequestOutcome } from './state.js';
export type { StateDump } from './state-dump.js';
export type { WatchOptions } from './watch.js';
export {
  openStore,
  type CommittedResult,
  type OpenStoreOptions,
  type ReadOnlyResult,
  type RecordedResult,
  type ReplayedResult,
  type Store,
  type TransactionFunction,
  type TransactOptions,
  type TransactResult,
} from './store.js';
export * from './runtime/index.js';
