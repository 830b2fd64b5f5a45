import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BenchContext, BenchSuite } from '../harness.js';

// What one message between two processes costs on this machine: ping-pong round trips of a
// small message over TCP on loopback, to an echo process (loopback-echo-process.ts). This is
// the unit a commit relay pays per hop (a follower's commit goes to the leader and back, and
// every batch goes to every follower), so it is the figure to read the relay rows of the
// postgres-writers and etcd suites against. `cpuµs/rt` is this process's CPU time per round trip
// (user + system); the echo process spends about as much.
const echoScript = fileURLToPath(new URL('../loopback-echo-process.ts', import.meta.url));
const messageBytes = [200, 8_000];

async function roundTrips(port: number, bytes: number, durationMs: number): Promise<{ count: number; ms: number; cpuUs: number }> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await once(socket, 'connect');
  const message = Buffer.alloc(bytes, 1);
  try {
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    let count = 0;
    let received = 0;
    await new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received < bytes) return;
        received = 0;
        count += 1;
        if (performance.now() - started >= durationMs) resolve();
        else socket.write(message);
      });
      socket.write(message);
    });
    const cpu = process.cpuUsage(cpuBefore);
    return { count, ms: performance.now() - started, cpuUs: cpu.user + cpu.system };
  } finally {
    socket.destroy();
  }
}

async function run(context: BenchContext): Promise<void> {
  const echo = spawn(process.execPath, ['--import', 'tsx', echoScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(createInterface({ input: echo.stdout }), 'line')) as [string];
    const port = Number(line);
    for (const bytes of messageBytes) {
      await roundTrips(port, bytes, 300);
      const { count, ms, cpuUs } = await roundTrips(port, bytes, 2_000 * context.scale);
      const perTripMs = ms / count;
      context.report({
        system: 'tcp-loopback',
        workload: `ping-pong ${bytes} B`,
        concurrency: 1,
        opsPerSec: Math.round((1000 * count) / ms),
        p50Ms: Math.round(perTripMs * 1000) / 1000,
        p99Ms: Math.round(perTripMs * 1000) / 1000,
        extra: { 'cpuµs/rt': Math.round(cpuUs / count), note: 'p50/p99: mean round trip' },
      });
    }
  } finally {
    echo.kill();
  }
}

const suite: BenchSuite = { name: 'loopback', run };

export default suite;
