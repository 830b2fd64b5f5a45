import { isOrdoError, type OperationError, type OperationRuntime, type Operation, type RunResult, type OperationValue } from '@ordo/core';
import type { z } from 'zod';

/** Prints the demo's story and runs operations with a requestId each, so a second run replays instead of repeating. */
export class Narrator {
  private section = 0;

  constructor(private readonly runtime: () => OperationRuntime) {}

  heading(title: string): void {
    this.section += 1;
    process.stdout.write(`\n${this.section}. ${title}\n${'='.repeat(title.length + 3)}\n`);
  }

  say(text: string): void {
    process.stdout.write(`${text}\n`);
  }

  async run<Schema extends z.ZodType, Value extends OperationValue>(
    label: string,
    operation: Operation<Schema, Value>,
    input: z.input<Schema>,
    describe: (value: Value) => string = () => '',
  ): Promise<RunResult<Value>> {
    const result = await this.runtime().run(operation, input, { requestId: `demo:${operation.name}:${label}` });
    const how = result.replayed ? ' (replayed)' : '';
    const what = describe(result.value);
    this.say(`  ok  ${operation.name} ${label}${what ? `: ${what}` : ''}  [record ${result.position}]${how}`);
    return result;
  }

  /** Runs an operation that must fail and prints its error; returns it. */
  async expectFailure<Schema extends z.ZodType, Value extends OperationValue>(
    label: string,
    operation: Operation<Schema, Value>,
    input: z.input<Schema>,
    requestId?: string,
  ): Promise<OperationError> {
    const positionBefore = this.runtime().store.position;
    try {
      await this.runtime().run(operation, input, requestId === undefined ? {} : { requestId });
    } catch (error) {
      if (!isOrdoError(error)) throw error;
      const failure = error as OperationError;
      const entity = failure.step === 'apply' && failure.entity !== undefined ? `entity ${failure.entity.kind} ${failure.entity.id}` : undefined;
      const where = [failure.step && `step ${failure.step}`, failure.adapter && `adapter ${failure.adapter}`, entity].filter(Boolean).join(', ');
      this.say(`  ERR ${operation.name} ${label} -> ${failure.code}${where ? ` (${where})` : ''}`);
      this.say(`      ${failure.message}`);
      if (failure.details !== undefined) this.say(`      details: ${JSON.stringify(failure.details)}`);
      const written = this.runtime().store.position - positionBefore;
      this.say(`      records written: ${written === 0 ? 'none' : written}`);
      return failure;
    }
    throw new Error(`${operation.name} ${label} was expected to fail`);
  }
}
