import { createInterface } from 'node:readline';
import { openStore } from '@ordo/core';
import { etcdLog } from '@ordo/adapters/etcd';
import { closedLoop } from './harness.js';
import { relaySettled, routeHalfway } from './relay-settled.js';
import { createItem, Item } from './workloads.js';

// One of the processes of the etcd suite's `4 processes x 16 callers` row: a store of its own
// on the shared prefix. Spawned by suites/etcd.ts:
//
//   etcd-process.ts <endpoints> <prefix> <callers> <durationMs> <turns|no-turns|relay>
//
// With `relay`, the processes commit through the commit relay (one leads and appends what the
// others forward), and each reports its route halfway through the run as `extra.route`.
// Prints `ready` once its store is open (and its relay leads or follows), waits for a line on
// stdin (so that every process starts at once), runs `create` from <callers> callers for
// <durationMs>, and prints the result as JSON, with the store's counts of compares, failed
// compares and waits for another writer's turn.
const [endpoints, prefix, callersText, durationText, turns] = process.argv.slice(2);
if (endpoints === undefined || prefix === undefined) throw new Error('usage: etcd-process.ts <endpoints> <prefix> <callers> <durationMs> <turns|no-turns|relay>');
const log = etcdLog({ endpoints: endpoints.split(','), prefix, writerTurns: turns !== 'no-turns', ...(turns === 'relay' ? { relay: {} } : {}) });
const store = await openStore({ entities: [Item], log });
await relaySettled(log);
process.stdout.write('ready\n');
await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));
const route = routeHalfway(log, Number(durationText));
const result = await closedLoop({
  system: 'ordo-etcd',
  workload: 'create',
  concurrency: Number(callersText),
  durationMs: Number(durationText),
  operation: () => createItem(store),
});
process.stdout.write(`${JSON.stringify({ ...result, extra: { ...log.stats, route: route() } })}\n`);
await store.close();
process.exit(0);
