import { afterAll, describe, expect, it } from 'vitest';
import type { FaultRates } from './faulty-log.js';
import { runListAppendSimulation, type ListAppendSimulationOptions, type SimulationResult } from './list-append-simulation.js';
import { runPredicateSimulation } from './predicate-simulation.js';
import { runRegisterSimulation } from './register-simulation.js';
import { RunSummary, seedsFor } from './run-summary.js';
import { checkPositions } from './sim-cluster.js';
import type { RelayCounts, RelayFaults } from './sim-relay.js';
import { withWatchdog } from './watchdog.js';

/**
 * Deterministic simulation over the memory log: several processes share one log through
 * fault-injecting views (failed, torn, slow appends, lost acknowledgements, failed reads) and
 * crash and restart at random. Each seed replays exactly:
 *   ORDO_SIM_SEED=<seed> node_modules/.bin/vitest run test/simulation/memory-simulation.test.ts
 */
/** A run takes well under a second; anything near this is a hang. */
const runLimitMs = 5_000;

const faults: FaultRates = { appendFails: 0.02, ackLost: 0.02, torn: 0.02, slow: 0.1, readFails: 0.01 };

function listOptions(seed: number): ListAppendSimulationOptions {
  return {
    seed,
    variant: 'correct',
    clients: 5,
    txnsPerClient: 50,
    nodes: 1 + (seed % 3),
    faults,
    crashChance: 0.01,
    generator: { keys: 4, opsPerTxnMax: 4, appendsPerKeyMax: 25, readOnlyChance: 0.2 },
    // Half of the seeds take snapshots, so that restarts load one and fold the records after it.
    ...(seed % 2 === 0 ? { snapshotEvery: 7 } : {}),
  };
}

function explain(result: SimulationResult): string {
  return `seed ${result.seed} failed; replay with ORDO_SIM_SEED=${result.seed}\n${result.report.describe()}\n${result.stateMismatches.join('\n')}\n${result.untyped.map(String).join('\n')}`;
}

const listSummary = new RunSummary('memory simulation, list-append (strict serializability)');
const relaySummary = new RunSummary('memory simulation, list-append through a commit relay');
const relayFaults: RelayFaults = { fencedBefore: 0.03, fencedAfter: 0.05, notWritten: 0.03, unknown: 0.02, handover: 0.03, streamLost: 0.05 };
const relayTotals: RelayCounts = { forwards: 0, fencedBefore: 0, fencedAfter: 0, notWritten: 0, unknown: 0, handovers: 0, streamLost: 0 };
const registerSummary = new RunSummary('memory simulation, registers (linearizability)');
const predicateSummary = new RunSummary('memory simulation, capacity and unique names (write skew, phantoms)');

afterAll(() => {
  console.log(`${listSummary.line()}\n${relaySummary.line()} (relay: ${JSON.stringify(relayTotals)})\n${registerSummary.line()}\n${predicateSummary.line()}`);
});

describe('deterministic simulation on the memory log', () => {
  it.each(seedsFor(1, 30))('list-append seed %i: strictly serializable, no gap, state equals the fold', async (seed) => {
    const result = await withWatchdog(runListAppendSimulation(listOptions(seed)), runLimitMs, `list-append seed ${seed} (replay with ORDO_SIM_SEED=${seed})`);
    listSummary.add(result.report.opsChecked, result.report.anomalies.length);
    expect(result.untyped, explain(result)).toEqual([]);
    expect(result.report.valid, explain(result)).toBe(true);
    expect(result.stateMismatches, explain(result)).toEqual([]);
    expect(checkPositions(result.records)).toBeUndefined();
    // The run must have committed something, or it proved nothing.
    expect(result.records.length).toBeGreaterThan(50);
  });

  it.each(seedsFor(1, 30))('list-append through a commit relay, seed %i: fenced, moved and lost leads keep it strictly serializable', async (seed) => {
    const options: ListAppendSimulationOptions = { ...listOptions(seed), nodes: 3, relay: relayFaults };
    const result = await withWatchdog(runListAppendSimulation(options), runLimitMs, `relay list-append seed ${seed} (replay with ORDO_SIM_SEED=${seed})`);
    relaySummary.add(result.report.opsChecked, result.report.anomalies.length);
    expect(result.untyped, explain(result)).toEqual([]);
    expect(result.report.valid, explain(result)).toBe(true);
    expect(result.stateMismatches, explain(result)).toEqual([]);
    expect(checkPositions(result.records)).toBeUndefined();
    expect(result.records.length).toBeGreaterThan(50);
    // Followers forwarded: the run exercised the relay, not only direct appends.
    expect(result.relay?.forwards ?? 0).toBeGreaterThan(10);
    for (const key of Object.keys(relayTotals) as (keyof RelayCounts)[]) relayTotals[key] += result.relay?.[key] ?? 0;
  });

  it.each(seedsFor(1, 20))('register seed %i: linearizable', async (seed) => {
    const run = runRegisterSimulation({
      seed,
      variant: 'correct',
      clients: 4,
      opsPerClient: 40,
      registers: 3,
      nodes: 1 + (seed % 2),
      faults,
      crashChance: 0.01,
    });
    const result = await withWatchdog(run, runLimitMs, `register seed ${seed} (replay with ORDO_SIM_SEED=${seed})`);
    registerSummary.add(result.result.opsChecked, result.result.verdict === 'ok' ? 0 : 1);
    const why = `seed ${seed}; replay with ORDO_SIM_SEED=${seed}\n${result.result.message}\n${result.untyped.map(String).join('\n')}`;
    expect(result.untyped, why).toEqual([]);
    expect(result.result.verdict, why).toBe('ok');
    expect(result.stateMismatches, why).toEqual([]);
  });

  it.each(seedsFor(1, 15))('predicate seed %i: no host over capacity and no name twice, at any position', async (seed) => {
    const run = runPredicateSimulation({ seed, clients: 5, txnsPerClient: 40, nodes: 1 + (seed % 3), faults, crashChance: 0.01 });
    const result = await withWatchdog(run, runLimitMs, `predicate seed ${seed} (replay with ORDO_SIM_SEED=${seed})`);
    predicateSummary.add(result.committed, result.violations.length);
    const why = `seed ${seed}; replay with ORDO_SIM_SEED=${seed}\n${result.violations.slice(0, 10).join('\n')}\n${result.untyped.map(String).join('\n')}`;
    expect(result.untyped, why).toEqual([]);
    expect(result.violations, why).toEqual([]);
    expect(result.records).toBeGreaterThan(20);
  });

  it.each(seedsFor(1, 15))('predicate through a commit relay, seed %i: no host over capacity and no name twice across relayed batches', async (seed) => {
    const run = runPredicateSimulation({ seed, clients: 6, txnsPerClient: 40, nodes: 3, faults, crashChance: 0.01, relay: relayFaults });
    const result = await withWatchdog(run, runLimitMs, `relay predicate seed ${seed} (replay with ORDO_SIM_SEED=${seed})`);
    predicateSummary.add(result.committed, result.violations.length);
    const why = `seed ${seed}; replay with ORDO_SIM_SEED=${seed}\n${result.violations.slice(0, 10).join('\n')}\n${result.untyped.map(String).join('\n')}`;
    expect(result.untyped, why).toEqual([]);
    expect(result.violations, why).toEqual([]);
    expect(result.records).toBeGreaterThan(20);
  });

  it('replays a seed exactly: the same log, byte for byte, and the same history', async () => {
    const seed = 20261125;
    const first = await runListAppendSimulation(listOptions(seed));
    const second = await runListAppendSimulation(listOptions(seed));
    const faultsSeen = Object.values(first.faults).reduce((sum: number, count: number) => sum + count, 0);
    expect(faultsSeen, 'the replayed run should exercise injected faults').toBeGreaterThan(0);
    expect(first.records.length).toBeGreaterThan(50);
    expect(JSON.stringify(second.records)).toBe(JSON.stringify(first.records));
    expect(JSON.stringify(second.history)).toBe(JSON.stringify(first.history));
    const other = await runListAppendSimulation(listOptions(seed + 1));
    expect(JSON.stringify(other.records)).not.toBe(JSON.stringify(first.records));
  });
});
