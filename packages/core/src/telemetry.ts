import type { LogStore } from './log-store.js';

/**
 * The steps the store and the runtime report. `transact` is one `store.transact` call (all its
 * attempts); `operation` one `runtime.run`, which holds `validate`, `commit` (the transaction,
 * with `plan` and `prepare` inside it) and `settle` (the adapters' `apply`, one step per
 * adapter, and `compensate` when one fails).
 */
export type TelemetryStep = 'transact' | 'operation' | 'validate' | 'plan' | 'prepare' | 'commit' | 'settle' | 'apply' | 'compensate';

export type TelemetryAttributes = Readonly<Record<string, string | number | boolean | undefined>>;

/**
 * Where the store and the runtime tell what they do, for tracing and metrics
 * (`@ordo/adapters/opentelemetry` makes one over OpenTelemetry). Optional: without one,
 * nothing is measured and nothing is called. The core reads no clock for it; timing is
 * the implementation's business.
 */
export interface Telemetry {
  /**
   * Runs `work` as one step (an OpenTelemetry span): the step starts before `work` and ends
   * when its promise settles; a rejection carries the error (with its `code`). `note` adds
   * attributes learned while the step ran (`attempts`, `position`...). It must call `work`
   * exactly once and return or throw exactly what `work` did.
   */
  step<Value>(step: TelemetryStep, attributes: TelemetryAttributes, work: (note: (attributes: TelemetryAttributes) => void) => Promise<Value>): Promise<Value>;
  /**
   * Wraps the store's log store to observe group-commit appends, catch-up reads and the head.
   * The wrapper must behave exactly as the store it wraps. Optional.
   */
  observeLog?(log: LogStore): LogStore;
}

/** Runs `work` as a step of `telemetry`, or just runs it when there is none. */
export function traced<Value>(telemetry: Telemetry | undefined, step: TelemetryStep, attributes: TelemetryAttributes, work: () => Promise<Value>): Promise<Value> {
  return telemetry === undefined ? work() : telemetry.step(step, attributes, work);
}
