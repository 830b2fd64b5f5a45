import { traced, type Telemetry } from '../telemetry.js';
import type { InfrastructureAdapter } from './adapter.js';

/**
 * The adapter with its `prepare` and `apply` reported as steps of `telemetry` (one per
 * adapter and call, named by the adapter); everything else is the adapter's own.
 */
export function tracedAdapter(adapter: InfrastructureAdapter, telemetry: Telemetry): InfrastructureAdapter {
  const attributes = { adapter: adapter.name };
  return {
    name: adapter.name,
    kinds: adapter.kinds,
    apply: (input) => traced(telemetry, 'apply', { ...attributes, changes: input.changes.length, position: input.position }, async () => adapter.apply(input)),
    ...(adapter.prepare === undefined
      ? {}
      : { prepare: (input) => traced(telemetry, 'prepare', { ...attributes, changes: input.changes.length }, async () => adapter.prepare?.(input)) }),
    ...(adapter.reconcile === undefined ? {} : { reconcile: (input) => adapter.reconcile?.(input) }),
  };
}
