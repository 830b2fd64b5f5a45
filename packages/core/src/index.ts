export * from './errors.js';
export type { Change, Entity, JsonObject, JsonPrimitive, JsonValue, LogRecord, Snapshot } from './record.js';
export type { LogOpenResult, LogStore } from './log-store.js';
export { memoryLog, type MemoryLogOptions } from './memory-log.js';
