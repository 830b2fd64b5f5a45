import { OrdoError, type EntityRef } from '../errors.js';
import type { JsonObject, JsonValue } from '../record.js';

/** Where in the runtime an operation failed. */
export type OperationStep = 'validate' | 'plan' | 'prepare' | 'commit' | 'apply';

export const operationSteps: readonly OperationStep[] = Object.freeze(['validate', 'plan', 'prepare', 'commit', 'apply']);

export interface OperationErrorInput {
  /** Stable, specific and upper case: `INSUFFICIENT_HOST_MEMORY`, `IP_ALREADY_IN_USE`. */
  readonly code: string;
  readonly message: string;
  /** The numbers and entities a caller needs to act: requested, available, the conflicting entity. */
  readonly details?: JsonObject | undefined;
  /** The entity the failure concerns. */
  readonly entity?: EntityRef | undefined;
  /** Filled in by the runtime; a plan or adapter need not set it. */
  readonly step?: OperationStep | undefined;
  /** Filled in by the runtime for failures inside an adapter. */
  readonly adapter?: string | undefined;
  readonly cause?: unknown;
}

/**
 * An operation failed for a reason the caller can act on. Plans and adapters throw it with
 * their own code; the runtime fills in the step (and the adapter) and rethrows it to the
 * caller of `run`. Nothing the operation planned is left behind: a failure before commit
 * wrote nothing, a failure in apply was compensated.
 */
export class OperationError extends OrdoError {
  readonly step: OperationStep;
  readonly adapter: string | undefined;
  readonly entity: EntityRef | undefined;
  readonly details: JsonObject | undefined;

  constructor(input: OperationErrorInput) {
    super(input.code, input.message, input.cause === undefined ? undefined : { cause: input.cause });
    // A plan is where domain checks live, so that is where an error without a step came from.
    this.step = input.step ?? 'plan';
    this.adapter = input.adapter;
    this.entity = input.entity === undefined ? undefined : { kind: input.entity.kind, id: input.entity.id };
    this.details = input.details;
  }

  /** A copy with the runtime's context added; fields already set by the thrower win over `context.entity`. */
  at(context: { readonly step: OperationStep; readonly adapter?: string | undefined; readonly entity?: EntityRef | undefined }): OperationError {
    return new OperationError({
      code: this.code,
      message: this.message,
      step: context.step,
      details: this.details,
      entity: this.entity ?? context.entity,
      adapter: context.adapter ?? this.adapter,
      cause: this.cause,
    });
  }

  /** The JSON form kept in the log, so that a replayed requestId can reject with the same error. */
  toJSON(): JsonObject {
    const json: Record<string, JsonValue> = { code: this.code, message: this.message, step: this.step };
    if (this.adapter !== undefined) json.adapter = this.adapter;
    if (this.entity !== undefined) json.entity = { kind: this.entity.kind, id: this.entity.id };
    if (this.details !== undefined) json.details = this.details;
    if (this.cause !== undefined) json.cause = describeCause(this.cause);
    return json;
  }
}

/** Rebuilds an OperationError from `toJSON` output read back from the log. */
export function operationErrorFromJson(json: JsonObject): OperationError {
  const text = (value: unknown, fallback: string): string => (typeof value === 'string' ? value : fallback);
  const step = operationSteps.find((candidate) => candidate === json.step) ?? 'apply';
  const entity = json.entity;
  const details = json.details;
  return new OperationError({
    code: text(json.code, 'ADAPTER_FAILED'),
    message: text(json.message, 'operation failed'),
    step,
    adapter: typeof json.adapter === 'string' ? json.adapter : undefined,
    entity: isEntityRef(entity) ? entity : undefined,
    details: isJsonObject(details) ? details : undefined,
    cause: typeof json.cause === 'string' ? json.cause : undefined,
  });
}

/** True for an OperationError with `code` (operation codes are open, so `isOrdoError` does not take them). */
export function isOperationError(error: unknown, code: string): error is OperationError {
  return error instanceof OperationError && error.code === code;
}

export function describeCause(cause: unknown): string {
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  return String(cause);
}

function isEntityRef(value: unknown): value is EntityRef {
  if (typeof value !== 'object' || value === null) return false;
  const ref = value as Record<string, unknown>;
  return typeof ref.kind === 'string' && typeof ref.id === 'string';
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
