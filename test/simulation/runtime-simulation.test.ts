import { describe, expect, it } from 'vitest';
import { runRuntimeSimulation } from './runtime-simulation.js';
import { seedsFor } from './run-summary.js';
import { withWatchdog } from './watchdog.js';

/**
 * Three operation runtimes on one memory log with crashes, pauses and a fake clock (I11).
 * Replay a seed with ORDO_SIM_SEED=<seed> node_modules/.bin/vitest run test/simulation/runtime-simulation.test.ts
 */
const runLimitMs = 20_000;

describe('deterministic simulation: runtimes taking over from each other', () => {
  it.each(seedsFor(1, 25))('seed %i: every operation settled once, nothing left owned, tokens never go back, infrastructure equals the store', async (seed) => {
    const result = await withWatchdog(runRuntimeSimulation({ seed, steps: 300, disks: 4 }), runLimitMs, `runtime simulation seed ${seed}`);
    const why = `seed ${seed} (replay with ORDO_SIM_SEED=${seed}): ${result.problems.join('; ')}`;
    expect(result.problems, why).toEqual([]);
    // The run must have exercised something.
    expect(result.operations, why).toBeGreaterThan(50);
  });
});
