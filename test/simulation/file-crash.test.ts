import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runWithChildren } from './child-run.js';
import { expectCleanChildRun } from './child-run-verdict.js';
import { RunSummary, seedsFor } from './run-summary.js';

/**
 * The file log under SIGKILL: one store process (the file log has a single writer) serves
 * concurrent clients and is killed at random moments, then restarted over the same
 * directory. Every acknowledged transaction must survive, and the whole history must be
 * strictly serializable (list-append) and linearizable (registers).
 */
const summary = new RunSummary('file log with SIGKILL (child processes)');
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  console.log(summary.line());
});

describe('file log: random kill and restart of the store process', () => {
  it.each(seedsFor(101, 2))('seed %i: no acknowledged write lost, strictly serializable, linearizable', async (seed) => {
    const dir = mkdtempSync(join(tmpdir(), 'ordo-file-crash-'));
    dirs.push(dir);
    const result = await runWithChildren({
      seed,
      // The second seed snapshots often, so restarts load a snapshot and fold the tail after it.
      serverArgs: seed % 2 === 0 ? ['file', dir, '50'] : ['file', dir],
      children: 1,
      clients: 6,
      kills: 4,
      killIntervalMs: [150, 500],
      registers: 3,
      registerChance: 0.3,
      generator: { keys: 5, opsPerTxnMax: 4, appendsPerKeyMax: 40, readOnlyChance: 0.2 },
    });
    expectCleanChildRun(result, summary, `seed ${seed} (ORDO_SIM_SEED=${seed}); dir ${dir}`);
    // A run that checked almost nothing proves nothing.
    expect(result.list.opsChecked).toBeGreaterThan(100);
    // The kills must have caught operations in flight, or the crash path went untested.
    expect(result.unknown).toBeGreaterThan(0);
  }, 120_000);
});
