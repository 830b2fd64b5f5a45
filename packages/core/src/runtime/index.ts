export type { ApplyInput, InfrastructureAdapter, PrepareInput, StateView } from './adapter.js';
export { defineOperation, type Operation, type OperationDefinition, type OperationValue } from './define-operation.js';
export { OperationError, operationErrorFromJson, operationSteps, type OperationErrorInput, type OperationStep } from './operation-error.js';
export { createRuntime, pendingRunsMax, type CreateRuntimeOptions, type OperationRuntime, type RunOptions, type RunResult } from './runtime.js';
export { recoveryScanRecordsMax, type RecoveredOperation } from './recovery.js';
export { readMeta as readRuntimeMeta, type RuntimeMeta, type EntityImage } from './operation-meta.js';
export { storeView } from './store-view.js';
