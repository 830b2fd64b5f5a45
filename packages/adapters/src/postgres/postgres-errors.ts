/** The fields node-postgres copies from a server ErrorResponse onto the errors it throws. */
interface ServerErrorFields {
  readonly code?: unknown;
  readonly severity?: unknown;
  readonly constraint?: unknown;
}

function fields(error: unknown): ServerErrorFields {
  return typeof error === 'object' && error !== null ? error : {};
}

/** SQLSTATE 23505: an insert hit a unique index (position or request_id). */
export function isUniqueViolation(error: unknown): boolean {
  return fields(error).code === '23505';
}

/** The name of the constraint a server error names, if any. */
export function violatedConstraint(error: unknown): string | undefined {
  const constraint = fields(error).constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}

/**
 * True when the server itself answered that the statement failed with severity ERROR. An
 * autocommit statement that fails that way was rolled back: nothing of it is in the log. Every
 * other failure (a socket error, a FATAL that ends the session, a timeout in the driver) leaves
 * the outcome unknown: the COMMIT may have happened before the connection broke.
 */
export function failedBeforeCommit(error: unknown): boolean {
  const { code, severity } = fields(error);
  return severity === 'ERROR' && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
