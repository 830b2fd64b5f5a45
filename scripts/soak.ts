/**
 * The long soak: many more seeds, longer histories and more kills than `pnpm test` runs.
 *
 *   node --conditions=@ordo/source --import tsx scripts/soak.ts [--minutes 10] [--seed 123]
 *
 * Phases, repeated until the time is up: deterministic memory simulations (list-append,
 * registers, capacity and unique names; with injected faults and crashes; list-append and
 * capacity also through a simulated commit relay whose leads are fenced, moved and lost), file log runs with SIGKILL of the store
 * process, PostgreSQL runs with several processes, directly and through a proxy that cuts
 * connections and loses answers (when ORDO_PG_URL or the default server answers), and the fuzz suites with a fresh seed and 20 times the runs. Every failing seed
 * is printed with the command that replays it; the last line is the summary, and the exit
 * code is 1 when anything was found.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { TcpProxy } from '../test/postgres/tcp-proxy.js';
import { runWithChildren, type ChildRunOptions } from '../test/simulation/child-run.js';
import { runListAppendSimulation } from '../test/simulation/list-append-simulation.js';
import { runPredicateSimulation } from '../test/simulation/predicate-simulation.js';
import { runRegisterSimulation } from '../test/simulation/register-simulation.js';
import type { RelayFaults } from '../test/simulation/sim-relay.js';
import { withWatchdog } from '../test/simulation/watchdog.js';

const minutes = Number(argument('--minutes') ?? 10);
const firstSeed = Number(argument('--seed') ?? Date.now() % 1_000_000_000);
const deadline = Date.now() + minutes * 60_000;
const pgUrl = process.env.ORDO_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const faults = { appendFails: 0.02, ackLost: 0.02, torn: 0.02, slow: 0.1, readFails: 0.01 };
const relayFaults: RelayFaults = { fencedBefore: 0.03, fencedAfter: 0.05, notWritten: 0.03, unknown: 0.02, handover: 0.03, streamLost: 0.05 };
const runLimitMs = 60_000;

const totals = { runs: 0, operations: 0, anomalies: 0, inconclusive: 0 };
const failures: string[] = [];

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

function record(what: string, operations: number, anomalies: number, detail: string): void {
  totals.runs += 1;
  totals.operations += operations;
  totals.anomalies += anomalies;
  console.log(`${what}: operations=${operations} anomalies=${anomalies}`);
  if (anomalies > 0) {
    failures.push(what);
    console.log(detail);
  }
}

/** Runs a simulation under the watchdog; a hang or a crash counts as an anomaly. */
async function guarded<Value>(what: string, run: Promise<Value>, check: (value: Value) => { operations: number; anomalies: number; detail: string }): Promise<void> {
  try {
    const value = await withWatchdog(run, runLimitMs, what);
    const { operations, anomalies, detail } = check(value);
    record(what, operations, anomalies, detail);
  } catch (error) {
    record(what, 0, 1, error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
}

/** A list-append simulation on the memory log, checked for strict serializability. */
async function listAppendRound(seed: number, label: string, topology: { readonly nodes: number; readonly relay?: RelayFaults }): Promise<void> {
  const list = runListAppendSimulation({
    seed,
    variant: 'correct',
    clients: 8,
    txnsPerClient: 150,
    ...topology,
    faults,
    crashChance: 0.01,
    generator: { keys: 6, opsPerTxnMax: 5, appendsPerKeyMax: 40, readOnlyChance: 0.2 },
  });
  await guarded(`memory list-append${label} seed ${seed} (replay: ORDO_SIM_SEED=${seed})`, list, (result) => ({
    operations: result.report.opsChecked,
    anomalies: result.report.anomalies.length + result.untyped.length + result.stateMismatches.length,
    detail: `${result.report.describe()}\n${result.stateMismatches.join('\n')}\n${result.untyped.map(String).join('\n')}`,
  }));
}

async function memoryRound(seed: number): Promise<void> {
  await listAppendRound(seed, '', { nodes: 1 + (seed % 3) });
  // Many registers keep each one's history short: unknown outcomes make the search exponential.
  const registers = runRegisterSimulation({ seed, variant: 'correct', clients: 5, opsPerClient: 80, registers: 8, nodes: 1 + (seed % 2), faults, crashChance: 0.01 });
  await guarded(`memory registers seed ${seed} (replay: ORDO_SIM_SEED=${seed})`, registers, (result) => {
    // The search gave up (too many unknown outcomes): inconclusive, not an anomaly, but counted.
    if (result.result.verdict === 'unknown') totals.inconclusive += 1;
    return {
      operations: result.result.opsChecked,
      anomalies: (result.result.verdict === 'illegal' ? 1 : 0) + result.untyped.length + result.stateMismatches.length,
      detail: result.result.message,
    };
  });
  const predicates = runPredicateSimulation({ seed, clients: 8, txnsPerClient: 100, nodes: 1 + (seed % 3), faults, crashChance: 0.01 });
  await guarded(`memory capacity and unique names seed ${seed} (replay: ORDO_SIM_SEED=${seed})`, predicates, (result) => ({
    operations: result.committed,
    anomalies: result.violations.length + result.untyped.length,
    detail: result.violations.slice(0, 20).join('\n'),
  }));
  await relayRound(seed);
}

/** Three processes whose commits go through a simulated commit relay (test/simulation/sim-relay.ts). */
async function relayRound(seed: number): Promise<void> {
  await listAppendRound(seed, ' through a commit relay', { nodes: 3, relay: relayFaults });
  const predicates = runPredicateSimulation({ seed, clients: 8, txnsPerClient: 100, nodes: 3, faults, crashChance: 0.01, relay: relayFaults });
  await guarded(`memory capacity and unique names through a commit relay seed ${seed} (replay: ORDO_SIM_SEED=${seed})`, predicates, (result) => ({
    operations: result.committed,
    anomalies: result.violations.length + result.untyped.length,
    detail: result.violations.slice(0, 20).join('\n'),
  }));
}

async function childRound(seed: number, serverArgs: string[], children: number, what: string, disturb?: ChildRunOptions['disturb']): Promise<void> {
  const result = await runWithChildren({
    ...(disturb === undefined ? {} : { disturb }),
    seed,
    serverArgs,
    children,
    clients: 3 * children + 3,
    kills: 10,
    killIntervalMs: [100, 800],
    registers: 8,
    registerChance: 0.3,
    generator: { keys: 6, opsPerTxnMax: 4, appendsPerKeyMax: 60, readOnlyChance: 0.2 },
  });
  // A search that gave up (many unknown outcomes on one register) is inconclusive, not an anomaly.
  if (result.registers.verdict === 'unknown') totals.inconclusive += 1;
  const anomalies = result.list.anomalies.length + (result.registers.verdict === 'illegal' ? 1 : 0) + result.untyped.length;
  record(`${what} seed ${seed}`, result.list.opsChecked + result.registers.opsChecked, anomalies, `${result.list.describe()}\n${result.registers.message}\n${result.untyped.join('\n')}`);
}

async function postgresAnswers(): Promise<boolean> {
  const client = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Three processes reaching PostgreSQL through a proxy that cuts connections and loses answers. */
async function proxiedRound(seed: number): Promise<void> {
  const server = new URL(pgUrl);
  const proxy = await TcpProxy.start(server.hostname, Number(server.port || 5432));
  const proxied = new URL(pgUrl);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  const schema = `soak_net_${process.pid}_${seed}`;
  try {
    await childRound(seed, ['postgres', proxied.toString(), schema], 3, 'postgres through a faulty proxy', {
      intervalMs: [80, 400],
      act: (prng) => (prng.chance(0.5) ? proxy.loseNextAnswer() : proxy.cutAll()),
    });
  } finally {
    await proxy.close();
    await dropSchema(schema);
  }
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

// The fuzz suites run 20 times their runs here: a test gets 20 times the suite's 60 s as well
// (on a loaded 2-core machine the file bytes fuzz took more than 60 s at this scale).
const fuzzTestTimeoutMs = 20 * 60_000;

function fuzzRound(seed: number): void {
  const result = spawnSync('node_modules/.bin/vitest', ['run', 'test/fuzz', 'test/history/checkers-property.test.ts', `--testTimeout=${fuzzTestTimeoutMs}`], {
    env: { ...process.env, ORDO_FUZZ_SEED: String(seed), ORDO_FUZZ_SCALE: '20' },
    encoding: 'utf8',
  });
  record(`fuzz suites seed ${seed} (replay: ORDO_FUZZ_SEED=${seed} ORDO_FUZZ_SCALE=20)`, 0, result.status === 0 ? 0 : 1, result.stdout.slice(-4000));
}

async function main(): Promise<void> {
  const withPostgres = await postgresAnswers();
  if (!withPostgres) console.log(`!!! PostgreSQL at ${pgUrl} does not answer: the PostgreSQL phase is skipped !!!`);
  for (let round = 0, seed = firstSeed; Date.now() < deadline; round += 1, seed += 1) {
    await memoryRound(seed);
    if (round % 5 !== 0) continue;
    const dir = mkdtempSync(join(tmpdir(), 'ordo-soak-file-'));
    await childRound(seed, ['file', dir], 1, 'file log with SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    if (withPostgres) {
      const schema = `soak_${process.pid}_${seed}`;
      await childRound(seed, ['postgres', pgUrl, schema], 3, 'postgres, three processes');
      await dropSchema(schema);
      await proxiedRound(seed);
    }
    fuzzRound(seed);
  }
  console.log(`soak from seed ${firstSeed}: runs=${totals.runs} operations checked=${totals.operations} anomalies found=${totals.anomalies} inconclusive=${totals.inconclusive}`);
  if (failures.length > 0) {
    console.log(`failed: ${failures.join('; ')}`);
    process.exitCode = 1;
  }
}

await main();
