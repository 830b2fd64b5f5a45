import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { openStore } from '@ordo/core';
import { etcdLog } from '@ordo/adapters/etcd';
import { EtcdCluster } from '../../etcd/etcd-cluster.js';
import { routeLetter } from '../relay-settled.js';
import { closedLoop, type BenchContext, type BenchResult, type BenchSuite } from '../harness.js';
import { createItem, Item } from '../workloads.js';

// The issue 16 benchmarks, on one 3-member etcd cluster started for the run (loopback, fsync on):
// - raw-etcd: one writer appending CAS-chained transactions (compare the head's revision, put
//   the head and one key), of one record and of 100 records: what etcd itself gives one writer;
// - ordo-etcd create with 1 and 64 callers in this process, and 4 processes x 16 callers on the
//   same prefix (their aggregate), with the writers taking turns at the head, in the row marked
//   `nt` without (writerTurns: false), and in the row marked `relay` through the commit relay
//   (one process leads and appends what the others forward; `routes`: L leads, F follows,
//   D appends directly, halfway through the run). failedCompares is the share of append
//   transactions whose compare failed (each one still a replicated, fsynced write in etcd).
// The systems run in turns, two slices each, so that a drift of the shared machine hits all alike.
const slices = 2;
const durationMs = 4_000;
const processes = 4;
const callersPerProcess = 16;
const record = JSON.stringify({ position: 0, txId: '01JBENCHTXID0000000000000', time: 1_700_000_000_000, changes: [{ op: 'create', kind: 'item', id: '01JBENCHITEM0000000000000', version: 1, data: { name: 'n1', value: 1 } }] });

/** One writer: each transaction compares the head's revision and writes the head and one batch key. */
function rawAppender(client: Etcd3, prefix: string, recordsPerTxn: number): () => Promise<unknown> {
  const head = Buffer.from(`${prefix}/head`);
  const batch = Buffer.from(`[${Array.from({ length: recordsPerTxn }, () => record).join(',')}]`);
  let revision = 0;
  let position = 0;
  return async () => {
    const first = position + 1;
    position += recordsPerTxn;
    const response = await client.kv.txn({
      compare: [{ key: head, target: 'Mod', result: 'Equal', mod_revision: revision }],
      success: [
        { request_put: { key: head, value: Buffer.from(String(position)) } },
        { request_put: { key: Buffer.from(`${prefix}/log/${String(first).padStart(16, '0')}`), value: batch } },
      ],
    });
    if (!response.succeeded) throw new Error('raw-etcd: the compare failed with one writer');
    revision = Number(response.header.revision);
  };
}

/** How the processes of the multi-process row commit. */
type CommitPath = 'turns' | 'no-turns' | 'relay';
const pathMarks: Record<CommitPath, string> = { turns: '', 'no-turns': ' nt', relay: ' relay' };

async function startProcesses(endpoints: readonly string[], prefix: string, runMs: number, path: CommitPath): Promise<{ start: () => void; results: Promise<BenchResult[]> }> {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'etcd-process.ts');
  const children = Array.from({ length: processes }, () =>
    spawn(process.execPath, ['--conditions=@ordo/source', '--import', 'tsx', script, endpoints.join(','), prefix, String(callersPerProcess), String(runMs), path], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const lines = children.map((child) => createInterface({ input: child.stdout }));
  await Promise.all(lines.map(async (reader) => once(reader, 'line')));
  const results = Promise.all(lines.map(async (reader) => JSON.parse(((await once(reader, 'line')) as [string])[0]) as BenchResult));
  return { start: () => children.forEach((child) => child.stdin.write('go\n')), results };
}

async function multiProcessSlice(endpoints: readonly string[], prefix: string, runMs: number, path: CommitPath): Promise<BenchResult> {
  const started = await startProcesses(endpoints, prefix, runMs, path);
  started.start();
  const results = await started.results;
  const latencies = results.map((result) => result.p50Ms).sort((a, b) => a - b);
  return {
    system: 'ordo-etcd',
    workload: `create ${processes}x${callersPerProcess}${pathMarks[path]}`,
    concurrency: processes * callersPerProcess,
    opsPerSec: results.reduce((sum, result) => sum + result.opsPerSec, 0),
    p50Ms: latencies[Math.floor(latencies.length / 2)]!,
    p99Ms: Math.max(...results.map((result) => result.p99Ms)),
    extra: {
      failedCompares: `${Math.round((100 * sum('failedCompares')) / Math.max(1, sum('compares')))}%`,
      compares: sum('compares'),
      ...(path === 'relay' ? { routes: results.map((result) => routeLetter(result.extra?.route)).join('') } : {}),
    },
  };
  function sum(name: string): number {
    return results.reduce((total, result) => total + Number(result.extra?.[name] ?? 0), 0);
  }
}

function mean(rows: readonly BenchResult[]): BenchResult {
  return {
    ...rows[0]!,
    opsPerSec: Math.round(rows.reduce((sum, row) => sum + row.opsPerSec, 0) / rows.length),
    p50Ms: [...rows].sort((a, b) => a.p50Ms - b.p50Ms)[Math.floor(rows.length / 2)]!.p50Ms,
    p99Ms: Math.max(...rows.map((row) => row.p99Ms)),
    extra: { ...rows.at(-1)!.extra },
  };
}

async function run(context: BenchContext): Promise<void> {
  const cluster = await EtcdCluster.start();
  const client = new Etcd3({ hosts: cluster.endpoints });
  const store = await openStore({ entities: [Item], log: etcdLog({ endpoints: cluster.endpoints, prefix: 'bench/ordo' }) });
  try {
    const sliceMs = (durationMs * context.scale) / slices;
    const rows = new Map<string, BenchResult[]>();
    const add = (row: BenchResult): void => void rows.set(`${row.system} ${row.workload} ${row.concurrency}`, [...(rows.get(`${row.system} ${row.workload} ${row.concurrency}`) ?? []), row]);
    const raw1 = rawAppender(client, 'bench/raw1', 1);
    const raw100 = rawAppender(client, 'bench/raw100', 100);
    for (let slice = 0; slice < slices; slice += 1) {
      context.log(`  slice ${slice + 1} of ${slices}: raw-etcd 1 and 100 records, ordo-etcd 1, 64, ${processes}x${callersPerProcess} (turns, no turns, relay)...`);
      add(await closedLoop({ system: 'raw-etcd', workload: 'txn 1 record', concurrency: 1, durationMs: sliceMs, operation: raw1 }));
      add(await closedLoop({ system: 'raw-etcd', workload: 'txn 100 rec', concurrency: 1, durationMs: sliceMs, operation: raw100 }));
      add(await closedLoop({ system: 'ordo-etcd', workload: 'create', concurrency: 1, durationMs: sliceMs, operation: () => createItem(store) }));
      add(await closedLoop({ system: 'ordo-etcd', workload: 'create', concurrency: 64, durationMs: sliceMs, operation: () => createItem(store) }));
      add(await multiProcessSlice(cluster.endpoints, `bench/multi-${slice}`, sliceMs, 'turns'));
      add(await multiProcessSlice(cluster.endpoints, `bench/multi-nt-${slice}`, sliceMs, 'no-turns'));
      add(await multiProcessSlice(cluster.endpoints, `bench/multi-relay-${slice}`, sliceMs, 'relay'));
    }
    const results = [...rows.values()].map(mean);
    const find = (system: string, workload: string, concurrency: number): number =>
      results.find((row) => row.system === system && row.workload === workload && row.concurrency === concurrency)?.opsPerSec ?? 0;
    for (const row of results) {
      const extra: Record<string, string | number> = { ...row.extra };
      if (row.workload === 'txn 100 rec') extra.recordsPerSec = String(row.opsPerSec * 100);
      if (row.system === 'ordo-etcd' && row.concurrency === 1) extra.ofRaw1 = (row.opsPerSec / find('raw-etcd', 'txn 1 record', 1)).toFixed(2);
      if (row.workload.startsWith('create ') && row.concurrency === processes * callersPerProcess) extra.of1x64 = (row.opsPerSec / find('ordo-etcd', 'create', 64)).toFixed(2);
      context.report({ ...row, extra });
    }
  } finally {
    await store.close();
    client.close();
    await cluster.stop();
  }
}

const suite: BenchSuite = { name: 'etcd', run };

export default suite;
