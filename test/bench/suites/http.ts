import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { fileLog } from '@ordo/adapters/file';
import { SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { openControlPlane } from '../../../examples/vm-control-plane/src/control-plane.js';
import { hostAdd, vmCreate, vmPowerOn } from '../../../examples/vm-control-plane/src/operations/index.js';
import { closedLoop, type BenchContext, type BenchResult, type BenchSuite } from '../harness.js';
import { hostCount } from '../vm-model.js';
import { measureOperations } from './operations.js';

// The HTTP benchmark (issue 18): vm.create + vm.powerOn pairs over HTTP, the example's server
// (test/bench/http-server-process.ts: the service of `pnpm serve` on a file log in a temporary
// folder, simulated hosts in memory) in a child process, with 1 and 64 connections. The load
// generator is a closed loop over undici's Pool (one connection per caller, keep-alive, no
// pipelining): each caller POSTs /vms, then POSTs /vms/:id/power-on with the id it got, and
// starts its next pair when both answered. autocannon was not used because its requests are
// independent; chaining the power-on to the create's answer is what this workload is.
//
// Three rows per concurrency, so that the cost of each layer shows:
//   ordo-operations create+on/file  the benchmark's small model, in process (as in the operations suite)
//   ordo-vm-plane   create+on/file  the example's control plane and operations, in process, no HTTP
//   ordo-http       create+on/file  the same control plane behind the HTTP API, in another process
const serverScript = fileURLToPath(new URL('../http-server-process.ts', import.meta.url));
const token = 'bench-token-0123456789abcdef';
const callersMany = 64;
// Hosts that never run out: the rows measure the path, not placement failures.
const hostSize = { cpuThreads: 1_000_000, memoryMiB: 1_000_000_000 };

function pairsOf(result: BenchResult): BenchResult {
  return { ...result, extra: { ...result.extra, 'operations/s': result.opsPerSec * 2 } };
}

/** The example's control plane in this process: the operations the HTTP server runs, without HTTP. */
async function measurePlane(context: BenchContext, concurrency: number): Promise<BenchResult> {
  const dir = context.tempDir('vm-plane');
  const plane = await openControlPlane({ log: fileLog({ dir: join(dir, 'log') }), hypervisor: new SimulatedHypervisor(), storageRoot: join(dir, 'storage'), name: 'bench-vm-plane' });
  try {
    const hosts: string[] = [];
    for (let index = 0; index < hostCount; index += 1) hosts.push((await plane.runtime.run(hostAdd, { name: `h${index}`, ...hostSize })).value);
    let counter = 0;
    const pair = async (): Promise<void> => {
      counter += 1;
      const { value } = await plane.runtime.run(vmCreate, { name: `vm-${counter}`, vcpus: 1, memoryMiB: 512, hostId: hosts[counter % hostCount] ?? '' });
      await plane.runtime.run(vmPowerOn, { vmId: value.vmId });
    };
    return pairsOf(await closedLoop({ system: 'ordo-vm-plane', workload: 'create+on/file', concurrency, durationMs: 4000 * context.scale, operation: pair }));
  } finally {
    await plane.close();
  }
}

/** The server process on a fresh data folder; resolves with its URL once it listens. */
async function startServer(context: BenchContext): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--conditions=@ordo/source', '--import', 'tsx', serverScript, context.tempDir('http'), token], { stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the HTTP server process exited ${code}`)));
    createInterface({ input: child.stdout }).once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    async stop() {
      child.stdin.end();
      await exited;
    },
  };
}

async function post(pool: Pool, path: string, body: unknown, expected: number): Promise<Record<string, unknown>> {
  // An action without a body sends no content type, as Fastify refuses an empty JSON body.
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await pool.request({ method: 'POST', path, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const answer = (await response.body.json()) as Record<string, unknown>;
  if (response.statusCode !== expected) throw new Error(`POST ${path}: ${response.statusCode} ${JSON.stringify(answer)}`);
  return answer;
}

/** Counts the VMs the API lists as on, page by page: the bench counts only pairs that were applied. */
async function poweredOn(pool: Pool): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const response = await pool.request({ method: 'GET', path: `/vms?limit=1000${cursor === null ? '' : `&cursor=${cursor}`}` });
    const page = (await response.body.json()) as { items: { data: { power: string } }[]; nextCursor: string | null };
    count += page.items.filter((vm) => vm.data.power === 'on').length;
    cursor = page.nextCursor;
  } while (cursor !== null);
  return count;
}

async function measureHttp(context: BenchContext, concurrency: number): Promise<BenchResult> {
  const server = await startServer(context);
  const pool = new Pool(server.url, { connections: concurrency, pipelining: 1 });
  try {
    const hosts: string[] = [];
    for (let index = 0; index < hostCount; index += 1) {
      hosts.push(((await post(pool, '/hosts', { name: `h${index}`, ...hostSize }, 201)).entity as { id: string }).id);
    }
    let counter = 0;
    const pair = async (): Promise<void> => {
      counter += 1;
      const created = await post(pool, '/vms', { name: `vm-${counter}`, vcpus: 1, memoryMiB: 512, hostId: hosts[counter % hostCount] }, 201);
      await post(pool, `/vms/${(created.entity as { id: string }).id}/power-on`, undefined, 200);
    };
    const result = await closedLoop({ system: 'ordo-http', workload: 'create+on/file', concurrency, durationMs: 4000 * context.scale, operation: pair });
    const running = await poweredOn(pool);
    if (running !== counter) throw new Error(`the API lists ${running} VMs on, the load generator powered on ${counter}`);
    return pairsOf(result);
  } finally {
    await pool.close();
    await server.stop();
  }
}

const suite: BenchSuite = {
  name: 'http',
  async run(context) {
    for (const concurrency of [1, callersMany]) {
      context.report(await measureOperations(context, 'file', fileLog({ dir: context.tempDir('operations') }), concurrency));
      context.report(await measurePlane(context, concurrency));
      context.report(await measureHttp(context, concurrency));
    }
  },
};

export default suite;
