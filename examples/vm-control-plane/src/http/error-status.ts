/**
 * The HTTP status of every error code the API returns. The mapping is by code, so that a
 * caller's handling of a code never depends on which layer raised it. The README has this
 * table in prose; keep the two in step.
 */
export const statusByCode: Readonly<Record<string, number>> = Object.freeze({
  // The request is malformed or names what it may not: nothing ran.
  VALIDATION_FAILED: 400,
  INVALID_ARGUMENT: 400,
  INVALID_JSON: 400,
  INVALID_IF_MATCH: 400,
  INVALID_CURSOR: 400,
  NOT_INDEXED: 400,
  UNAUTHENTICATED: 401,
  // What the request names does not exist.
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  HOST_NOT_FOUND: 404,
  VM_NOT_FOUND: 404,
  VOLUME_NOT_FOUND: 404,
  CONTAINER_NOT_FOUND: 404,
  SUBNET_NOT_FOUND: 404,
  // The request is well-formed but the state refuses it.
  ALREADY_EXISTS: 409,
  NAME_CONFLICT: 409,
  UNIQUE_VIOLATION: 409,
  CONFLICT: 409,
  ENTITY_BUSY: 409,
  INVALID_STATE: 409,
  SAME_HOST: 409,
  INSUFFICIENT_HOST_MEMORY: 409,
  INSUFFICIENT_HOST_CPU: 409,
  HOST_IN_MAINTENANCE: 409,
  HOST_HAS_RUNNING_VMS: 409,
  NO_HOST_AVAILABLE: 409,
  IP_ALREADY_IN_USE: 409,
  IP_NOT_IN_SUBNET: 409,
  IP_POOL_EXHAUSTED: 409,
  TOO_MANY_DISKS: 409,
  VOLUME_ALREADY_ATTACHED: 409,
  VOLUME_NOT_ATTACHED: 409,
  VOLUME_IN_USE: 409,
  VOLUME_SHRINK_REFUSED: 409,
  CONTAINER_FULL: 409,
  INSUFFICIENT_DISK_SPACE: 409,
  // The caller's If-Match names a version the entity is no longer at.
  VERSION_MISMATCH: 412,
  BODY_TOO_LARGE: 413,
  RECORD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // Infrastructure failed after the commit; the runtime compensated.
  ADAPTER_FAILED: 502,
  HOST_UNREACHABLE: 502,
  // Another runtime on the same log took the operation over; what became of it is in the log.
  OPERATION_TAKEN_OVER: 502,
  OUTCOME_UNKNOWN: 502,
  // Too much is queued, or the server is shutting down: try again later.
  COMMIT_QUEUE_FULL: 503,
  RUNTIME_BUSY: 503,
  STORE_CLOSED: 503,
  // Another runtime fenced this one (nothing written), or has not settled the operation yet.
  RUNTIME_FENCED: 503,
  OPERATION_UNSETTLED: 503,
  INTERNAL: 500,
});

/** Codes a retry after `Retry-After` seconds may cure. */
export const retryableCodes: ReadonlySet<string> = new Set(['ENTITY_BUSY', 'COMMIT_QUEUE_FULL', 'RUNTIME_BUSY', 'STORE_CLOSED', 'RUNTIME_FENCED', 'OPERATION_UNSETTLED']);

/**
 * The status for a code raised at `step`. A code the table does not know falls back by its
 * step: a failure in apply (or an adapter's veto in prepare) is the infrastructure's, 502;
 * a plan's unknown refusal is a conflict of state, 409; anything else is ours, 500.
 */
export function statusFor(code: string, step: string, adapter: string | undefined): number {
  if (step === 'apply') return 502;
  const known = statusByCode[code];
  if (known !== undefined) return known;
  if (step === 'prepare' && adapter !== undefined) return 502;
  if (step === 'plan') return 409;
  return 500;
}
