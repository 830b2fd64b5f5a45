import { afterAll, describe, expect, it } from 'vitest';
import { noFaults } from './faulty-log.js';
import { runListAppendSimulation } from './list-append-simulation.js';
import { runPredicateSimulation } from './predicate-simulation.js';
import { runRegisterSimulation } from './register-simulation.js';
import type { SimulationVariant } from './sim-cluster.js';
import { withWatchdog } from './watchdog.js';

/**
 * The checkers must be able to fail. Each store variant here is broken on purpose (the
 * variants live in test/simulation/broken and list-append-client.ts, never in a package) and
 * a fixed seed must show the anomaly that bug produces.
 */
const runLimitMs = 5_000;
let caught = 0;

afterAll(() => {
  console.log(`broken store variants: runs=6 caught=${caught} (each must be caught)`);
});

async function listAppend(variant: SimulationVariant, nodes: number, crashChance: number) {
  const run = runListAppendSimulation({
    seed: 1,
    variant,
    clients: 5,
    txnsPerClient: 40,
    nodes,
    faults: noFaults,
    crashChance,
    generator: { keys: 4, opsPerTxnMax: 4, appendsPerKeyMax: 30, readOnlyChance: 0.3 },
  });
  return withWatchdog(run, runLimitMs, `broken variant ${variant}`);
}

async function registers(variant: SimulationVariant, nodes: number, crashChance: number) {
  const run = runRegisterSimulation({ seed: 1, variant, clients: 4, opsPerClient: 60, registers: 3, nodes, faults: noFaults, crashChance });
  return withWatchdog(run, runLimitMs, `broken variant ${variant}`);
}

describe('the checkers catch deliberately broken stores', () => {
  it('a client whose reads skip read-set validation: lost updates and incompatible orders', async () => {
    const result = await listAppend('unvalidated-reads', 1, 0);
    const types = new Set(result.report.anomalies.map((anomaly) => anomaly.type));
    expect(result.report.valid).toBe(false);
    expect(types).toContain('lost-update');
    expect(types).toContain('incompatible-order');
    caught += 1;
  });

  it('a node that serves stale reads: stale-read anomalies (list-append)', async () => {
    const result = await listAppend('stale-reads', 2, 0);
    const types = new Set(result.report.anomalies.map((anomaly) => anomaly.type));
    expect(types).toContain('stale-read');
    expect(types).toContain('G-single-realtime');
    // Without real-time order the same history is serializable: the bug is only about time.
    expect([...types].every((type) => type === 'stale-read' || type.endsWith('-realtime'))).toBe(true);
    caught += 1;
  });

  it('a node that serves stale reads: not linearizable (registers)', async () => {
    const result = await registers('stale-reads', 2, 0);
    expect(result.result.verdict).toBe('illegal');
    caught += 1;
  });

  it('a log that loses its last acknowledged record on crash: lost writes (list-append)', async () => {
    const result = await listAppend('lossy-crash', 1, 0.03);
    expect(result.restarts).toBeGreaterThan(0);
    expect(result.report.anomalies.map((anomaly) => anomaly.type)).toContain('lost-write');
    caught += 1;
  });

  it('a log that loses its last acknowledged record on crash: not linearizable (registers)', async () => {
    const result = await registers('lossy-crash', 1, 0.03);
    expect(result.result.verdict).toBe('illegal');
    caught += 1;
  });

  it('a capacity check that reads outside the transaction: hosts over capacity (write skew)', async () => {
    const run = runPredicateSimulation({ seed: 1, clients: 5, txnsPerClient: 40, nodes: 2, faults: noFaults, crashChance: 0, unvalidatedFind: true });
    const result = await withWatchdog(run, runLimitMs, 'broken variant unvalidated find');
    expect(result.violations.some((violation) => violation.includes('slots'))).toBe(true);
    caught += 1;
  });

  it('the same workloads on the correct store find nothing', async () => {
    const list = await listAppend('correct', 2, 0.03);
    const register = await registers('correct', 2, 0.03);
    expect(list.report.describe()).toBe('');
    expect(register.result.verdict).toBe('ok');
    const predicates = await runPredicateSimulation({ seed: 1, clients: 5, txnsPerClient: 40, nodes: 2, faults: noFaults, crashChance: 0 });
    expect(predicates.violations).toEqual([]);
  });
});
