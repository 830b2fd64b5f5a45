import type { OperationError } from './operation-error.js';

/** What this runtime did with an operation it took over (at its start, or from a silent peer since). */
export interface RecoveredOperation {
  readonly operation: string;
  /** The requestId of the operation (the caller's, or one the runtime made). */
  readonly requestId: string;
  readonly position: number;
  readonly txId: string;
  /** What was unsettled: the operation itself, or its compensation (a revert still to apply). */
  readonly record: 'operation' | 'compensation';
  /** 'applied': finished; 'reverted': compensated (`error` says why); 'pending': its revert is still to apply. */
  readonly outcome: 'applied' | 'reverted' | 'pending';
  readonly error?: OperationError;
}
