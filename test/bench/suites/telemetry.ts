import { openTelemetry } from '@ordo/adapters/opentelemetry';
import { memoryLog, openStore, type Telemetry } from '@ordo/core';
import { closedLoop, type BenchContext, type BenchSuite } from '../harness.js';
import { createItem, Item } from '../workloads.js';

// Issue 17: the commit path with no telemetry against the same path with openTelemetry() and
// no OpenTelemetry provider registered (the API's no-op tracer and meter). Each variant runs
// twice, interleaved, so that the spread between two runs of the same variant shows the noise.
const variants: readonly { system: string; telemetry: () => Telemetry | undefined }[] = [
  { system: 'ordo-no-telemetry', telemetry: () => undefined },
  { system: 'ordo-otel-noop', telemetry: () => openTelemetry() },
];

async function createRun(context: BenchContext, system: string, telemetry: Telemetry | undefined, concurrency: number, round: number): Promise<void> {
  const store = await openStore({ entities: [Item], log: memoryLog(), ...(telemetry === undefined ? {} : { telemetry }) });
  context.report(
    await closedLoop({
      system,
      workload: 'create',
      concurrency,
      durationMs: 3000 * context.scale,
      operation: () => createItem(store),
      extra: { round },
    }),
  );
  await store.close();
}

const suite: BenchSuite = {
  name: 'telemetry',
  async run(context) {
    for (const concurrency of [1, 64]) {
      for (const round of [1, 2]) {
        for (const variant of variants) await createRun(context, variant.system, variant.telemetry(), concurrency, round);
      }
    }
  },
};

export default suite;
