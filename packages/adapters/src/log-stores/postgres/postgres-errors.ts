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

// SQLSTATE classes that may come with a broken session (connection exception, insufficient
// resources, operator intervention, system error, internal error): after them the outcome of
// the statement is not known for sure.
const uncertainClasses = new Set(['08', '53', '57', '58', 'XX']);
const queryCanceled = '57014';

/**
 * True when the server itself answered that the statement failed, in a way that leaves the
 * session alive: an autocommit statement that fails that way was rolled back and nothing of
 * it is in the log. Every other failure (a socket error, a session terminated or crashed, a
 * timeout in the driver) leaves the outcome unknown: the COMMIT may have happened before the
 * connection broke. The SQLSTATE decides, not the severity, which servers may translate.
 */
export function failedBeforeCommit(error: unknown): boolean {
  const { code, severity } = fields(error);
  // Only an answer from the server carries a severity; socket errors carry codes like 'EPIPE'.
  if (typeof severity !== 'string' || typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return false;
  if (severity === 'FATAL' || severity === 'PANIC') return false;
  // A statement cancelled by statement_timeout is rolled back; the session lives on.
  if (code === queryCanceled) return true;
  return !uncertainClasses.has(code.slice(0, 2));
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
