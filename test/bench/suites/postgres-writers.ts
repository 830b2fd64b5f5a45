import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { BenchContext, BenchResult, BenchSuite } from '../harness.js';
import { routeLetter } from '../relay-settled.js';

// The issue 14 benchmark: several writer processes share one PostgreSQL log. Each row runs
// `processes` child processes (postgres-writer-process.ts), each with its own store and
// 64 / processes callers creating one item per transaction, all in one fresh schema, started
// together. Next to each Ordo row, raw-pg-insert runs the same layout: single-row inserts into
// one table keyed by a sequence (no gapless order, no validation), the ceiling of this machine.
//
// The rows of one process count run back to back (raw, then Ordo), so that a drift of the
// shared machine's load hits both alike; `ofOneProcess` compares with the 1 x 64 row of the
// same system, `ofRaw` with raw-pg-insert of the same layout, and `split` is each process's
// share of the commits, in percent (an even split is 100 / processes each); `cpuµs/tx` is the CPU
// time of all the writer processes per commit (not PostgreSQL's), and `sys%` the kernel's share of it.
const pgUrl = process.env.ORDO_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const callersTotal = 64;
// ORDO_BENCH_WRITERS=<system,...> and ORDO_BENCH_PROCESSES=<n,...> narrow the run (for a look at one path).
const processCounts = listed(process.env.ORDO_BENCH_PROCESSES)?.map(Number) ?? [1, 2, 4, 8];
const durationMs = 3_000;
const warmupMs = 500;
const childScript = fileURLToPath(new URL('../postgres-writer-process.ts', import.meta.url));
// A child that has not answered by then is stuck: fail the row instead of hanging the run.
const childTimeoutMs = 120_000;

// ordo-postgres is the default commit path (writers race for head + 1); ordo-postgres-turns
// sets writerTurns (writers take turns on an advisory lock, see append-turn.ts).
// ordo-postgres-refetch is the default path with the records a lost append read dropped from its
// LogHeadMovedError, so the core catches up with a head and a read of its own (as before).
// ordo-postgres-relay sets relay: one process leads and appends the batches the others forward
// to it (commit-relay.ts); `routes` shows each process's place (L leads, F follows, D direct).
const systemNames = {
  raw: 'raw-pg-insert',
  ordo: 'ordo-postgres',
  'ordo-refetch': 'ordo-postgres-refetch',
  'ordo-turns': 'ordo-postgres-turns',
  'ordo-relay': 'ordo-postgres-relay',
} as const;
type System = keyof typeof systemNames;
const systems = (Object.keys(systemNames) as System[]).filter((system) => listed(process.env.ORDO_BENCH_WRITERS)?.includes(systemNames[system]) ?? true);

function listed(text: string | undefined): string[] | undefined {
  return text?.split(',').map((item) => item.trim()).filter(Boolean);
}

interface ChildReport {
  readonly commits: number;
  readonly seconds: number;
  readonly latencies: number[];
  /** Appends the store's log was asked for while measuring, and those that lost the race. */
  readonly appends: number;
  readonly headMoved: number;
  readonly route?: 'lead' | 'follow' | 'direct';
  /** CPU time the process used while measuring, in ms. */
  readonly cpu: number;
  /** Of that, the time spent in the kernel (socket reads and writes, mostly), in ms. */
  readonly systemCpu: number;
}

class WriterChild {
  private readonly lines: string[] = [];
  private readonly waiters: (() => void)[] = [];
  private stderr = '';
  private exited = false;

  constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.lines.push(line);
      this.waiters.splice(0).forEach((wake) => wake());
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    child.on('exit', () => {
      this.exited = true;
      this.waiters.splice(0).forEach((wake) => wake());
    });
  }

  /** The `index`-th line the child printed (0-based), parsed. */
  async line(index: number): Promise<unknown> {
    const deadline = Date.now() + childTimeoutMs;
    while (this.lines.length <= index) {
      if (this.exited) throw new Error(`writer process exited early: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`writer process did not answer: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 1_000).unref();
      });
    }
    return JSON.parse(this.lines[index]!) as unknown;
  }

  start(): void {
    this.child.stdin!.write('go\n');
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

interface Row {
  readonly result: BenchResult;
  readonly split: number[];
  readonly appends: number;
  readonly headMoved: number;
  readonly routes: string;
  /** CPU time of the writer processes per commit, in µs (all processes together). */
  readonly cpuPerCommit: number;
  /** The kernel's share of that CPU time, in percent. */
  readonly systemShare: number;
}

async function runRow(context: BenchContext, system: System, processes: number, schema: string): Promise<Row> {
  const callers = callersTotal / processes;
  const measuredMs = Math.round(durationMs * context.scale);
  const children = Array.from(
    { length: processes },
    () =>
      new WriterChild(
        spawn(process.execPath, ['--conditions=@ordo/source', '--import', 'tsx', childScript, system, pgUrl, schema, String(callers), String(warmupMs), String(measuredMs)], {
          stdio: ['pipe', 'pipe', 'pipe'],
        }),
      ),
  );
  try {
    await Promise.all(children.map((child) => child.line(0)));
    children.forEach((child) => child.start());
    const reports = (await Promise.all(children.map((child) => child.line(1)))) as ChildReport[];
    const latencies = reports.flatMap((report) => report.latencies).sort((a, b) => a - b);
    const commits = reports.reduce((sum, report) => sum + report.commits, 0);
    const opsPerSec = Math.round(reports.reduce((sum, report) => sum + report.commits / report.seconds, 0));
    const result: BenchResult = {
      system: systemNames[system],
      workload: 'create',
      concurrency: callersTotal,
      opsPerSec,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
    };
    return {
      result,
      split: reports.map((report) => (commits === 0 ? 0 : Math.round((1000 * report.commits) / commits) / 10)),
      appends: reports.reduce((sum, report) => sum + report.appends, 0),
      headMoved: reports.reduce((sum, report) => sum + report.headMoved, 0),
      cpuPerCommit: commits === 0 ? 0 : Math.round((1000 * reports.reduce((sum, report) => sum + report.cpu, 0)) / commits),
      systemShare: Math.round((100 * reports.reduce((sum, report) => sum + report.systemCpu, 0)) / Math.max(1, reports.reduce((sum, report) => sum + report.cpu, 0))),
      routes: reports.map((report) => routeLetter(report.route)).join(''),
    };
  } finally {
    children.forEach((child) => child.kill());
  }
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
}

async function run(context: BenchContext): Promise<void> {
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  const schemas: string[] = [];
  const oneProcess = new Map<System, number>();
  try {
    for (const processes of processCounts) {
      context.log(`  ${processes} process(es) x ${callersTotal / processes} callers: ${systems.map((system) => systemNames[system]).join(', ')}...`);
      let raw = 0;
      for (const system of systems) {
        const schema = `bench_writers_${schemas.length}_${process.pid}_${Date.now()}`;
        schemas.push(schema);
        await admin.query(`CREATE SCHEMA "${schema}"`);
        if (system === 'raw') await admin.query(`CREATE TABLE "${schema}".rows (id bigserial PRIMARY KEY, body json NOT NULL)`);
        const { result, split, appends, headMoved, routes, cpuPerCommit, systemShare } = await runRow(context, system, processes, schema);
        if (processes === 1) oneProcess.set(system, result.opsPerSec);
        if (system === 'raw') raw = result.opsPerSec;
        const extra: Record<string, string> = { processes: `${processes}x${callersTotal / processes}` };
        extra.ofOneProcess = ratio(result.opsPerSec, oneProcess.get(system));
        if (system !== 'raw') extra.ofRaw = ratio(result.opsPerSec, raw);
        extra.split = split.join('/');
        extra['cpuµs/tx'] = String(cpuPerCommit);
        extra['sys%'] = String(systemShare);
        // Commits per append (the group-commit batch) and the share of appends that lost the race.
        if (system !== 'raw' && appends > 0) {
          extra.perAppend = ((result.opsPerSec * context.scale * durationMs) / 1000 / appends).toFixed(1);
          extra.lost = `${Math.round((100 * headMoved) / appends)}%`;
        }
        if (system === 'ordo-relay') extra.routes = routes;
        context.report({ ...result, extra });
      }
    }
  } finally {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
}

function ratio(value: number, base: number | undefined): string {
  return base === undefined || base === 0 ? '-' : (value / base).toFixed(2);
}

const suite: BenchSuite = { name: 'postgres-writers', run };

export default suite;
