import { createInterface } from 'node:readline';
import { postgresLog } from '@ordo/adapters/postgres';
import { startCpuProfile } from './cpu-profile.js';
import { closedLoop } from './harness.js';
import { checkApplied, openOperationsPlane } from './operations-model.js';
import { relaySettled, routeHalfway } from './relay-settled.js';

// One runtime process of the ordo-operations bench on a shared PostgreSQL log, with the commit
// relay when the last argument is `relay` (it then waits until its relay leads or follows, and
// reports its route halfway through the run). Prints {"event":"ready"}, waits for "go" on
// stdin, runs `callers` callers for `durationMs`, and prints {"event":"result", pairs, p50Ms,
// p99Ms, route, cpuMs} (cpuMs: the CPU time it used while measuring). ORDO_BENCH_CPU_PROFILE=<dir>
// writes a CPU profile of the measured run there.
const [url, schema, worker, callersText, durationText, path] = process.argv.slice(2);
if (url === undefined || schema === undefined || worker === undefined) throw new Error('usage: operations-process <url> <schema> <worker> <callers> <durationMs> [relay]');
const log = postgresLog({ connectionString: url, schema, ...(path === 'relay' ? { relay: {} } : {}) });
const plane = await openOperationsPlane(log, `p${worker}`);
await relaySettled(log);
process.stdout.write(`${JSON.stringify({ event: 'ready' })}\n`);
const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.once('line', () => resolve()));
const before = plane.pairs;
const route = routeHalfway(log, Number(durationText));
const stopProfile = await startCpuProfile();
const cpuBefore = process.cpuUsage();
const result = await closedLoop({ system: 'ordo-operations', workload: 'pg-process', concurrency: Number(callersText), durationMs: Number(durationText), operation: () => plane.pair() });
const cpuUsed = process.cpuUsage(cpuBefore);
await stopProfile(`operations-${path ?? 'race'}-${process.pid}-${route() ?? 'direct'}`);
checkApplied(plane);
process.stdout.write(`${JSON.stringify({ event: 'result', pairsPerSec: result.opsPerSec, pairs: plane.pairs - before, p50Ms: result.p50Ms, p99Ms: result.p99Ms, route: route(), cpuMs: Math.round((cpuUsed.user + cpuUsed.system) / 1000) })}\n`);
await plane.close();
lines.close();
