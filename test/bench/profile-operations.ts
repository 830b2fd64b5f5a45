import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { memoryLog } from '@ordo/core';
import { openOperationsPlane, checkApplied } from './operations-model.js';

// Drives the memory-store operations workload for a fixed number of pairs and prints CPU µs
// per pair (process.cpuUsage, independent of the machine's load) and records per pair. For
// profiling: node --conditions=@ordo/source --import tsx test/bench/profile-operations.ts [pairs] [callers]
// [cpuprofile file]: with a file, a CPU profile of the measured run (not the start, not the
// warm-up) is written to it.
const pairs = Number(process.argv[2] ?? 20_000);
const callers = Number(process.argv[3] ?? 64);
const profileFile = process.argv[4];

// Counts appends: records per append is how much group commit batches.
const log = memoryLog();
let appends = 0;
const append = log.append.bind(log);
log.append = (records) => {
  appends += 1;
  return append(records);
};
const plane = await openOperationsPlane(log, 'prof');
// Counts transactions and their runs (a run more than the transactions is a rerun after a conflict), by operation name.
const counts = new Map<string, { calls: number; runs: number }>();
const transact = plane.store.transact.bind(plane.store);
(plane.store as { transact: unknown }).transact = (fn: (tx: unknown) => unknown, options?: { operation?: string }) => {
  const name = options?.operation ?? '(none)';
  const count = counts.get(name) ?? { calls: 0, runs: 0 };
  counts.set(name, count);
  count.calls += 1;
  return transact((tx) => {
    count.runs += 1;
    return fn(tx);
  }, options as never);
};
let next = 0;
const worker = async (): Promise<void> => {
  while (next < pairs) {
    next += 1;
    await plane.pair();
  }
};
// Warm-up, then the measured run.
await Promise.all(Array.from({ length: callers }, worker));
next = 0;
const startPosition = plane.store.position;
const startPairs = plane.pairs;
counts.clear();
appends = 0;
const session = profileFile === undefined ? undefined : new Session();
session?.connect();
await session?.post('Profiler.enable');
await session?.post('Profiler.start');
const cpu = process.cpuUsage();
const started = performance.now();
await Promise.all(Array.from({ length: callers }, worker));
const elapsed = performance.now() - started;
const used = process.cpuUsage(cpu);
if (session !== undefined && profileFile !== undefined) writeFileSync(profileFile, JSON.stringify((await session.post('Profiler.stop')).profile));
const done = plane.pairs - startPairs;
checkApplied(plane);
console.log(
  JSON.stringify({
    pairs: done,
    callers,
    pairsPerSec: Math.round(done / (elapsed / 1000)),
    cpuUsPerPair: Math.round((used.user + used.system) / done),
    recordsPerPair: Math.round(((plane.store.position - startPosition) / done) * 100) / 100,
    recordsPerAppend: Math.round(((plane.store.position - startPosition) / appends) * 10) / 10,
    transactions: Object.fromEntries([...counts].map(([name, count]) => [name, { perPair: count.calls / done, runsPerCall: Math.round((count.runs / count.calls) * 1000) / 1000 }])),
  }),
);
await plane.close();
