import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { memoryLog, type LogStore } from '@ordo/core';
import { fileLog } from '@ordo/adapters/file';
import { postgresLog } from '@ordo/adapters/postgres';
import { closedLoop, type BenchContext, type BenchResult, type BenchSuite } from '../harness.js';
import { checkApplied, openOperationsPlane } from '../operations-model.js';
import { routeLetter } from '../relay-settled.js';
import { measureLifecycles } from '../vm-lifecycle.js';

// The operations benchmark (issues 5 and 13): vm.create + vm.powerOn pairs through the runtime
// (validate, plan in a transaction, prepare, commit, apply on the simulated hypervisor,
// outcome record), with 1 and 64 callers on the memory, file and PostgreSQL stores, and with
// 3 runtime processes of 64 callers each on one PostgreSQL log beside 1 such process, racing
// for the log's head and (pg×3proc relay) through the commit relay, where one process appends
// what the others forward (`routes`: L leads, F follows, D appends directly).
const pgUrl = process.env.ORDO_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const processScript = fileURLToPath(new URL('../operations-process.ts', import.meta.url));
const callersMany = 64;
// ORDO_BENCH_OPERATIONS=single,processes,lifecycle picks row groups: the rows in this process,
// the runtime processes on one PostgreSQL log (with `cpuµs/pair`, their CPU time per pair, and
// ORDO_BENCH_CPU_PROFILE=<dir> for a CPU profile of each), the vm-lifecycle rows. All by default.
const rows = process.env.ORDO_BENCH_OPERATIONS?.split(',').map((row) => row.trim()) ?? ['single', 'processes', 'lifecycle'];

/** `ordo-operations` pairs in this process on `log`; the http suite runs it too, for its baseline rows. */
export async function measureOperations(context: BenchContext, label: string, log: LogStore, concurrency: number): Promise<BenchResult> {
  const plane = await openOperationsPlane(log, label);
  try {
    const result = await closedLoop({ system: 'ordo-operations', workload: `create+on/${label}`, concurrency, durationMs: 4000 * context.scale, operation: () => plane.pair() });
    checkApplied(plane);
    const records = plane.store.position;
    return { ...result, extra: { 'operations/s': result.opsPerSec * 2, 'records/pair': Math.round((records / plane.pairs) * 10) / 10 } };
  } finally {
    await plane.close();
  }
}

async function withSchema<Value>(run: (schema: string) => Promise<Value>): Promise<Value> {
  const schema = `bench_ops_${process.pid}_${Date.now()}_${Math.random().toString(36).slice(2, 6)}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  try {
    return await run(schema);
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
}

/** `count` runtime processes on one PostgreSQL log, started together: the sum of their pairs/s. */
async function processes(context: BenchContext, count: number, path: 'race' | 'relay' = 'race'): Promise<BenchResult> {
  return withSchema(async (schema) => {
    const durationMs = 4000 * context.scale;
    const children = await Promise.all(
      Array.from({ length: count }, async (_, worker) => {
        const child = spawn(process.execPath, ['--conditions=@ordo/source', '--import', 'tsx', processScript, pgUrl, schema, String(worker), String(callersMany), String(durationMs), path], {
          stdio: ['pipe', 'pipe', 'inherit'],
        });
        const events: Record<string, unknown>[] = [];
        const waiters: (() => void)[] = [];
        createInterface({ input: child.stdout }).on('line', (line) => {
          events.push(JSON.parse(line) as Record<string, unknown>);
          waiters.splice(0).forEach((wake) => wake());
        });
        const next = (event: string) =>
          new Promise<Record<string, unknown>>((resolve, reject) => {
            const check = () => {
              const found = events.find((candidate) => candidate.event === event);
              if (found !== undefined) resolve(found);
              else if (child.exitCode !== null) reject(new Error(`bench process ${worker} exited ${child.exitCode}`));
              else waiters.push(check);
            };
            child.once('exit', () => waiters.splice(0).forEach((wake) => wake()));
            check();
          });
        await next('ready');
        return { child, next };
      }),
    );
    for (const { child } of children) child.stdin.write('go\n');
    const results = await Promise.all(children.map(({ next }) => next('result')));
    // Each process closes its runtime (releasing its lease: one more append) when its input
    // ends; the schema is dropped only after all of them exited.
    await Promise.all(
      children.map(({ child }) => {
        const exited = child.exitCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.stdin.end();
        return exited;
      }),
    );
    const pairsPerSec = results.reduce((sum, result) => sum + Number(result.pairsPerSec), 0);
    const p50 = Math.max(...results.map((result) => Number(result.p50Ms)));
    const p99 = Math.max(...results.map((result) => Number(result.p99Ms)));
    const pairs = results.reduce((sum, result) => sum + Number(result.pairs), 0);
    const cpuMs = results.reduce((sum, result) => sum + Number(result.cpuMs), 0);
    const extra: Record<string, number | string> = { 'operations/s': pairsPerSec * 2, 'cpuµs/pair': pairs === 0 ? 0 : Math.round((1000 * cpuMs) / pairs) };
    if (path === 'relay') extra.routes = results.map((result) => routeLetter(result.route)).join('');
    const workload = `create+on/pg×${count}proc${path === 'relay' ? ' relay' : ''}`;
    return { system: 'ordo-operations', workload, concurrency: callersMany * count, opsPerSec: pairsPerSec, p50Ms: p50, p99Ms: p99, extra };
  });
}

function ratio(results: readonly BenchResult[], workload: string, concurrency: number, baseline: { workload: string; concurrency: number }): string {
  const find = (name: string, callers: number) => results.find((result) => result.workload === name && result.concurrency === callers)?.opsPerSec ?? 0;
  const base = find(baseline.workload, baseline.concurrency);
  return base === 0 ? 'n/a' : `${(find(workload, concurrency) / base).toFixed(1)}x`;
}

const suite: BenchSuite = {
  name: 'operations',
  async run(context) {
    const results: BenchResult[] = [];
    for (const concurrency of rows.includes('single') ? [1, callersMany] : []) {
      results.push(await measureOperations(context, 'mem', memoryLog(), concurrency));
      results.push(await measureOperations(context, 'file', fileLog({ dir: context.tempDir('operations') }), concurrency));
      results.push(await withSchema((schema) => measureOperations(context, 'pg', postgresLog({ connectionString: pgUrl, schema }), concurrency)));
    }
    if (rows.includes('processes')) {
      results.push(await processes(context, 1));
      results.push(await processes(context, 3));
      results.push(await processes(context, 3, 'relay'));
    }
    for (const result of results) {
      const extra: Record<string, number | string> = { ...result.extra };
      const label = result.workload.split('/')[1] ?? '';
      if (result.concurrency === callersMany && !label.includes('proc')) extra.x1caller = ratio(results, result.workload, callersMany, { workload: result.workload, concurrency: 1 });
      if (label.startsWith('pg×3proc')) extra.x1proc = ratio(results, result.workload, result.concurrency, { workload: 'create+on/pg×1proc', concurrency: callersMany });
      context.report({ ...result, extra });
    }
    if (rows.includes('lifecycle')) await measureLifecycles(context);
  },
};

export default suite;
