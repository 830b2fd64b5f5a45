import type { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import type { JsonValue } from '../record.js';
import type { Transaction } from '../transaction.js';

const operationNamePattern = /^[a-zA-Z][a-zA-Z0-9_.-]{0,127}$/;

/**
 * What `plan` may return: a JSON value (kept in the log with a requestId so that a replay
 * returns it), or nothing.
 */
export type OperationValue = JsonValue | undefined | void;

export interface OperationDefinition<Schema extends z.ZodType, Value extends OperationValue> {
  /** Dotted and stable, it is written to every record the operation commits: `vm.create`. */
  readonly name: string;
  /** Validates the caller's input before anything runs. */
  readonly input: Schema;
  /**
   * Reads and writes entities against the current state, inside one transaction. Domain
   * checks throw `OperationError` with a specific code. It may run more than once (a conflict
   * reruns it on a fresh snapshot), so it must not have side effects of its own.
   */
  plan(tx: Transaction, input: z.output<Schema>): Value | Promise<Value>;
}

export interface Operation<Schema extends z.ZodType = z.ZodType, Value extends OperationValue = OperationValue>
  extends OperationDefinition<Schema, Value> {
  readonly kind: 'ordo.operation';
}

/** An imperative, named, validated action for `runtime.run`. */
export function defineOperation<Schema extends z.ZodType, Value extends OperationValue>(
  definition: OperationDefinition<Schema, Value>,
): Operation<Schema, Value> {
  if (!operationNamePattern.test(definition.name)) {
    throw new InvalidArgumentError('name', `'${definition.name}' must start with a letter and hold only letters, digits, '_', '.', '-'`);
  }
  if (typeof definition.plan !== 'function') throw new InvalidArgumentError('plan', `${definition.name}: must be a function`);
  if (typeof definition.input?.safeParse !== 'function') {
    throw new InvalidArgumentError('input', `${definition.name}: must be a zod schema`);
  }
  return Object.freeze({ kind: 'ordo.operation', name: definition.name, input: definition.input, plan: definition.plan.bind(definition) });
}
