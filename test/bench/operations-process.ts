import { createInterface } from 'node:readline';
import { postgresLog } from '@ordo/adapters/postgres';
import { closedLoop } from './harness.js';
import { checkApplied, openOperationsPlane } from './operations-model.js';

// One runtime process of the ordo-operations bench on a shared PostgreSQL log. Prints
// {"event":"ready"}, waits for "go" on stdin, runs `callers` callers for `durationMs`, and
// prints {"event":"result", pairs, p50Ms, p99Ms, records}.
const [url, schema, worker, callersText, durationText] = process.argv.slice(2);
if (url === undefined || schema === undefined || worker === undefined) throw new Error('usage: operations-process <url> <schema> <worker> <callers> <durationMs>');
const plane = await openOperationsPlane(postgresLog({ connectionString: url, schema }), `p${worker}`);
process.stdout.write(`${JSON.stringify({ event: 'ready' })}\n`);
const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.once('line', () => resolve()));
const before = plane.pairs;
const result = await closedLoop({ system: 'ordo-operations', workload: 'pg-process', concurrency: Number(callersText), durationMs: Number(durationText), operation: () => plane.pair() });
checkApplied(plane);
process.stdout.write(`${JSON.stringify({ event: 'result', pairsPerSec: result.opsPerSec, pairs: plane.pairs - before, p50Ms: result.p50Ms, p99Ms: result.p99Ms })}\n`);
await plane.close();
lines.close();
