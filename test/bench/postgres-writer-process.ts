import { createInterface } from 'node:readline';
import pg from 'pg';
import { isOrdoError, LogHeadMovedError, openStore, type LogStore } from '@ordo/core';
import { postgresLog } from '@ordo/adapters/postgres';
import { startCpuProfile } from './cpu-profile.js';
import { relaySettled, routeHalfway } from './relay-settled.js';
import { createItem, Item } from './workloads.js';

// One writer process of the postgres-writers suite (see suites/postgres-writers.ts):
//
//   postgres-writer-process.ts <ordo|ordo-refetch|ordo-turns|ordo-relay|raw> <pgUrl> <schema> <callers> <warmupMs> <durationMs>
//
// It opens its own store (or, for raw, its own pool), and with the commit relay (ordo-relay)
// waits until it leads or follows; prints {"ready":true}, waits for a line on stdin so that
// every process of a row starts together, runs `callers` callers in a closed loop for the
// warm-up and then the measured time, and prints one JSON line with its commit count, the
// measured seconds, its CPU time, its route halfway through and every latency in
// milliseconds (the parent merges them).
const [system, pgUrl, schema, callersText, warmupText, durationText] = process.argv.slice(2);
const systems = ['ordo', 'ordo-refetch', 'ordo-turns', 'ordo-relay', 'raw'];
if (system === undefined || !systems.includes(system) || pgUrl === undefined || schema === undefined) {
  throw new Error(`usage: postgres-writer-process.ts <${systems.join('|')}> <pgUrl> <schema> <callers> <warmupMs> <durationMs>`);
}
const callers = Number(callersText);
const warmupMs = Number(warmupText);
const durationMs = Number(durationText);
// Raw inserts: one connection per caller up to this many per process; 8 processes x 8 is then
// 64 connections, which the shared server (max_connections 100) can still give.
const rawConnectionsMax = 8;

/** Appends the log store was asked for, and how many of them lost the race for the head. */
const appends = { tried: 0, headMoved: 0 };

function counted(log: LogStore): LogStore {
  const append = log.append.bind(log);
  log.append = async (records) => {
    appends.tried += 1;
    try {
      await append(records);
    } catch (error) {
      if (!isOrdoError(error, 'LOG_HEAD_MOVED')) throw error;
      appends.headMoved += 1;
      // ordo-refetch: the loser reads the new records itself (the commit path before they came
      // with the error), to compare with the default side by side.
      throw system === 'ordo-refetch' ? new LogHeadMovedError({ expected: error.expected, actual: error.actual }) : error;
    }
  };
  return log;
}

interface Writer {
  operation(): Promise<unknown>;
  close(): Promise<void>;
  /** With the commit relay: its log store, whose route the run samples. */
  readonly log?: LogStore;
}

async function openWriter(): Promise<Writer> {
  if (system !== 'raw') {
    const writerTurns = system === 'ordo-turns';
    const relay = system === 'ordo-relay' ? { relay: {} } : {};
    const log = counted(postgresLog({ connectionString: pgUrl!, schema: schema!, writerTurns, ...relay }));
    const store = await openStore({ entities: [Item], log });
    await relaySettled(log);
    return { operation: () => createItem(store), close: () => store.close(), log };
  }
  const pool = new pg.Pool({ connectionString: pgUrl, max: Math.min(callers, rawConnectionsMax) });
  let counter = 0;
  return {
    operation: () =>
      pool.query({
        name: 'raw_insert',
        text: `INSERT INTO "${schema}".rows (body) VALUES ($1::json)`,
        values: [JSON.stringify({ kind: 'item', id: `${process.pid}-${counter}`, data: { name: `n${counter++}`, value: 1 } })],
      }),
    close: () => pool.end(),
  };
}

async function runFor(writer: Writer, ms: number, latencies: number[] | undefined): Promise<number> {
  const deadline = performance.now() + ms;
  let count = 0;
  const caller = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const begun = performance.now();
      await writer.operation();
      latencies?.push(performance.now() - begun);
      count += 1;
    }
  };
  await Promise.all(Array.from({ length: callers }, () => caller()));
  return count;
}

const writer = await openWriter();
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.once('line', () => resolve()));
lines.close();
await runFor(writer, warmupMs, undefined);
const latencies: number[] = [];
// ORDO_BENCH_CPU_PROFILE=<dir>: a CPU profile of the measured run, one file per process.
const stopProfile = await startCpuProfile();
const cpuBefore = process.cpuUsage();
const started = performance.now();
const route = writer.log === undefined ? () => undefined : routeHalfway(writer.log, durationMs);
appends.tried = 0;
appends.headMoved = 0;
const commits = await runFor(writer, durationMs, latencies);
const seconds = (performance.now() - started) / 1000;
const cpuUsed = process.cpuUsage(cpuBefore);
const cpu = Math.round((cpuUsed.user + cpuUsed.system) / 1000);
const systemCpu = Math.round(cpuUsed.system / 1000);
await stopProfile(`${system}-${process.pid}-${route() ?? 'direct'}`);
await writer.close();
process.stdout.write(`${JSON.stringify({ commits, seconds, appends: appends.tried, headMoved: appends.headMoved, route: route(), cpu, systemCpu, latencies: latencies.map((ms) => Math.round(ms * 1000) / 1000) })}\n`);
