export * from './errors.js';
export type { Change, Entity, JsonObject, JsonPrimitive, JsonValue, LogRecord, Snapshot, SnapshotKindSchema } from './record.js';
export type { LogOpenResult, LogStore } from './log-store.js';
export { memoryLog, type MemoryLogOptions } from './memory-log.js';
export { defineEntity, type AnyObjectSchema, type DataOf, type EntityType, type EntityTypeOptions, type InputOf, type KindOf, type Migration } from './entity-type.js';
export { schemaVersionMax } from './schema-steps.js';
export { migrateBatchEntitiesDefault, migrateBatchEntitiesMax, type MigrateOptions } from './migrate-entities.js';
export type { Transaction, EntityOf, Recipe, Where } from './transaction.js';
export type { EntityChange } from './state.js';
export type { StateDump } from './state-dump.js';
export type { WatchOptions } from './watch.js';
export {
  openStore,
  readRecordsMax,
  retriesDefault,
  retriesMax,
  type OpenStoreOptions,
  type Store,
  type TransactionFunction,
  type TransactOptions,
  type TransactResult,
} from './store.js';
export * from './runtime/index.js';
export { monotonicUlids, type UlidSourceOptions } from './ulid-source.js';
