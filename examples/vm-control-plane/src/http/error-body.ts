import { isOrdoError, OperationError, type EntityRef, type JsonValue } from '@ordo/core';
import { HttpRequestError } from './http-error.js';
import { retryableCodes, statusFor } from './error-status.js';

/** The body of every failed call: the operation's own code and what a caller needs to act on it. */
export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    /** validate, plan, prepare, commit, apply (the runtime's steps), or request (refused by the HTTP layer). */
    readonly step: string;
    readonly adapter?: string;
    readonly entity?: EntityRef;
    readonly details: { readonly [key: string]: unknown };
  };
}

export interface ErrorResponse {
  readonly status: number;
  readonly body: ErrorBody;
  /** Seconds, for codes a later retry may cure. */
  readonly retryAfterSeconds?: number;
}

/** Store and runtime codes that arise when a record is committed rather than planned. */
const commitCodes: ReadonlySet<string> = new Set(['CONFLICT', 'COMMIT_QUEUE_FULL', 'RUNTIME_BUSY', 'RECORD_TOO_LARGE', 'STORE_CLOSED', 'LOG_STORE_ERROR', 'LOG_HEAD_MOVED', 'LOG_READ_ONLY']);

/** The fields of an Ordo error beyond code and message, as details (the numbers, the ids, the issues). */
function detailsOf(error: Error): Record<string, unknown> {
  const details: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === 'code' || key === 'name' || key === 'message' || key === 'stack' || typeof value === 'function') continue;
    details[key] = value;
  }
  return details;
}

function entityOf(details: Record<string, unknown>): EntityRef | undefined {
  const { kind, id } = details;
  return typeof kind === 'string' && typeof id === 'string' ? { kind, id } : undefined;
}

/** Turns whatever a handler threw into the status and body the API answers with. */
export function errorResponse(error: unknown): ErrorResponse {
  if (error instanceof OperationError) {
    return respond({ code: error.code, message: error.message, step: error.step, adapter: error.adapter, entity: error.entity, details: error.details ?? {} });
  }
  if (error instanceof HttpRequestError) return respond({ code: error.code, message: error.message, step: 'request', entity: entityOf(error.details), details: error.details });
  if (isOrdoError(error)) {
    const details = detailsOf(error);
    const step = error.code === 'VALIDATION_FAILED' || error.code === 'INVALID_ARGUMENT' ? 'validate' : commitCodes.has(error.code) ? 'commit' : 'plan';
    // A ValidationError's kind is the operation's name, not an entity kind.
    const entity = error.code === 'VALIDATION_FAILED' ? undefined : entityOf(details);
    return respond({ code: error.code, message: error.message, step, entity, details });
  }
  return respond({ code: 'INTERNAL', message: 'internal error', step: 'request', details: {} });
}

interface Fields {
  code: string;
  message: string;
  step: string;
  adapter?: string | undefined;
  entity?: EntityRef | undefined;
  details: { readonly [key: string]: unknown } | { readonly [key: string]: JsonValue };
}

function respond(fields: Fields): ErrorResponse {
  const status = statusFor(fields.code, fields.step, fields.adapter);
  const body: ErrorBody = {
    error: {
      code: fields.code,
      message: fields.message,
      step: fields.step,
      ...(fields.adapter === undefined ? {} : { adapter: fields.adapter }),
      ...(fields.entity === undefined ? {} : { entity: fields.entity }),
      details: fields.details,
    },
  };
  if (!retryableCodes.has(fields.code)) return { status, body };
  const afterMs = fields.details.retryAfterMs;
  const retryAfterSeconds = typeof afterMs === 'number' && afterMs > 0 ? Math.ceil(afterMs / 1000) : 1;
  return { status, body, retryAfterSeconds };
}
