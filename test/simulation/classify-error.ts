import { isOrdoError, type OrdoErrorCode } from '@ordo/core';
import type { OutcomeType } from '../history/history.js';

/**
 * Codes after which a transaction definitely did not commit. The checkers hold the store to
 * this: a value written by a transaction that failed with one of them must never be read.
 * STORE_CLOSED is here on purpose: the core rejects queued commits only after the append in
 * flight settled, so a transaction refused as closed was never appended.
 */
const definiteFailureCodes: ReadonlySet<string> = new Set<OrdoErrorCode>([
  'CONFLICT',
  'VERSION_MISMATCH',
  'ALREADY_EXISTS',
  'NOT_FOUND',
  'VALIDATION_FAILED',
  'UNIQUE_VIOLATION',
  'INVALID_ARGUMENT',
  'RESULT_NOT_JSON',
  'RECORD_TOO_LARGE',
  'COMMIT_QUEUE_FULL',
  'STORE_CLOSED',
]);

/** An error that is not an OrdoError: a crash of the store (or of the harness), never an outcome. */
export class UntypedError extends Error {
  constructor(readonly original: unknown) {
    super(`untyped error: ${original instanceof Error ? (original.stack ?? original.message) : String(original)}`);
  }
}

/** fail for definite failures, info for anything else typed (the outcome is unknown). */
export function classifyOrdoError(error: unknown): Exclude<OutcomeType, 'ok'> {
  if (!isOrdoError(error)) throw new UntypedError(error);
  return classifyCode(error.code);
}

/** The same, for an error code reported by a child process. */
export function classifyCode(code: string): Exclude<OutcomeType, 'ok'> {
  return definiteFailureCodes.has(code) ? 'fail' : 'info';
}
