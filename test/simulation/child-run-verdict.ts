import { expect } from 'vitest';
import type { ChildRunResult } from './child-run.js';
import type { RunSummary } from './run-summary.js';

/**
 * Adds a child-process run to the summary and fails the test on any anomaly: an untyped
 * error, a list-append history that is not strictly serializable, or registers that are not
 * linearizable. `label` says how to find the run again (seed, directory or schema).
 */
export function expectCleanChildRun(result: ChildRunResult, summary: RunSummary, label: string): void {
  const anomalies = result.list.anomalies.length + (result.registers.verdict === 'ok' ? 0 : 1);
  summary.add(result.list.opsChecked + result.registers.opsChecked, anomalies);
  const why = `${label}\n${result.list.describe()}\n${result.registers.message}`;
  expect(result.untyped, why).toEqual([]);
  expect(result.list.valid, why).toBe(true);
  expect(result.registers.verdict, why).toBe('ok');
}
