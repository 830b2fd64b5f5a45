import type { HistoryOp, OutcomeType } from './history.js';

/** An invocation waiting for its completion. */
export interface PendingOp<Input> {
  readonly index: number;
  readonly process: number;
  readonly input: Input;
  readonly invokeTime: number;
}

/** How an error ends an operation: definitely not applied (`fail`) or unknown (`info`). */
export type ErrorClassifier = (error: unknown) => Exclude<OutcomeType, 'ok'>;

/**
 * Records invocations and completions of concurrent clients. Time comes from `clock`
 * (`performance.now` by default; simulations pass a logical clock so that runs replay exactly).
 * Operations still pending when `ops()` is called are reported as `info`: a client that never
 * heard back cannot know whether its operation took effect.
 */
export class HistoryRecorder<Input, Output> {
  private readonly clock: () => number;
  private readonly completed = new Map<number, HistoryOp<Input, Output>>();
  private readonly pending = new Map<number, PendingOp<Input>>();
  private readonly busy = new Set<number>();
  private nextIndex = 0;

  constructor(clock: () => number = () => performance.now()) {
    this.clock = clock;
  }

  invoke(process: number, input: Input): PendingOp<Input> {
    // A process is sequential by definition; two open invocations would make real-time bounds lie.
    if (this.busy.has(process)) throw new Error(`process ${process} already has an operation in flight`);
    this.busy.add(process);
    const op = { index: this.nextIndex++, process, input, invokeTime: this.clock() };
    this.pending.set(op.index, op);
    return op;
  }

  ok(op: PendingOp<Input>, output: Output): void {
    this.complete(op, 'ok', output, undefined);
  }

  fail(op: PendingOp<Input>, error: string): void {
    this.complete(op, 'fail', undefined, error);
  }

  info(op: PendingOp<Input>, error: string): void {
    this.complete(op, 'info', undefined, error);
  }

  /** Invokes, runs `action`, and completes with its output or the classified error. */
  async run(process: number, input: Input, action: () => Promise<Output>, classify: ErrorClassifier): Promise<void> {
    const op = this.invoke(process, input);
    let output: Output;
    try {
      output = await action();
    } catch (error) {
      const type = classify(error);
      this.complete(op, type, undefined, describeError(error));
      return;
    }
    this.ok(op, output);
  }

  /** Every operation so far, in invocation order; pending ones as `info`. */
  ops(): HistoryOp<Input, Output>[] {
    const all: HistoryOp<Input, Output>[] = [...this.completed.values()];
    for (const op of this.pending.values()) all.push(toInfo(op, 'pending when the history was taken'));
    return all.sort((a, b) => a.index - b.index);
  }

  private complete(op: PendingOp<Input>, type: OutcomeType, output: Output | undefined, error: string | undefined): void {
    if (!this.pending.delete(op.index)) throw new Error(`operation ${op.index} completed twice or was never invoked`);
    this.busy.delete(op.process);
    const completeTime = type === 'info' ? Infinity : this.clock();
    this.completed.set(op.index, { ...op, type, output, error, completeTime });
  }
}

function toInfo<Input, Output>(op: PendingOp<Input>, error: string): HistoryOp<Input, Output> {
  return { ...op, type: 'info', output: undefined, error, completeTime: Infinity };
}

export function describeError(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    const message = (error as { message?: unknown }).message;
    if (typeof code === 'string') return `${code}: ${String(message)}`;
    if (typeof message === 'string') return message;
  }
  return String(error);
}
