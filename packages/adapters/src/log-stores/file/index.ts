export { fileLog, type FileLogOptions } from './file-log.js';
export { nodeFileSystem, type FileLogFileSystem, type FileLogHandle, type FileOpenMode } from './file-system.js';
export type { Durability } from './segment-writer.js';
export type { FileLogRecoveryEvent } from './recover-dir.js';
export type { FileLogWarning } from './file-log-warning.js';
export { inspectFileLog, readFileLogSnapshot, type FileLogFile, type FileLogInspection } from './file-log-inspection.js';
