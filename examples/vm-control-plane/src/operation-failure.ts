import { OperationError, type EntityRef, type JsonObject } from '@ordo/core';

export interface Failure {
  /** Stable and upper case: `INSUFFICIENT_HOST_MEMORY`. */
  readonly code: string;
  readonly message: string;
  /** The numbers and entities a caller needs to act on it; default `{}`. */
  readonly details?: JsonObject;
  /** The entity the failure concerns. */
  readonly entity?: EntityRef;
}

/** Throws the OperationError a plan reports a domain failure with. Returns `never`, so it also ends an expression (`tx.get(...) ?? fail(...)`). */
export function fail(failure: Failure): never {
  throw new OperationError({ details: {}, ...failure });
}

export function ref(kind: string, id: string): { kind: string; id: string } {
  return { kind, id };
}
