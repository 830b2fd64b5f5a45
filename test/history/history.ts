/**
 * A recorded client history, in the shape Jepsen, Elle and porcupine use: every operation has
 * an invocation and a completion, each stamped with a real-time bound from the client's clock.
 *
 * - `ok`: the operation completed and its output is known.
 * - `fail`: the operation definitely did not take effect (a conflict, a failed precondition).
 * - `info`: the outcome is unknown (a crash, a timeout, a lost acknowledgement). It may or may
 *   not have taken effect, at any moment after its invocation: `completeTime` is `Infinity`.
 */
export type OutcomeType = 'ok' | 'fail' | 'info';

export interface HistoryOp<Input, Output> {
  /** Position of the invocation in the history, from 0; unique. */
  readonly index: number;
  /** The client (logical process) that issued the operation; one operation at a time per process. */
  readonly process: number;
  readonly input: Input;
  readonly type: OutcomeType;
  /** Known only for `ok`. */
  readonly output: Output | undefined;
  /** For `fail` and `info`: the error code or message that ended it. */
  readonly error: string | undefined;
  readonly invokeTime: number;
  /** `Infinity` for `info`: an unknown outcome may take effect at any later time. */
  readonly completeTime: number;
}

/** True when `a` completed before `b` was invoked, so any valid order puts `a` first. */
export function precedesInRealTime(a: HistoryOp<unknown, unknown>, b: HistoryOp<unknown, unknown>): boolean {
  return a.completeTime < b.invokeTime;
}
