import { openStore } from '@ordo/core';
import { fileLog } from '@ordo/adapters/file';
import { collectGarbage } from './harness.js';
import { Item } from './workloads.js';

// One-shot open measurements of the file suite, in a process of their own: a store opens at
// the start of its process, so it should not inherit the heap and compiled code of the
// benchmark's throughput workloads. Spawned by suites/file.ts with the same node flags:
//
//   open-process.ts <log|store> <dir> <runs>
//
// 'log' opens the log store alone and reads every record; 'store' opens a store (its newest
// snapshot, then the records after it). Prints one JSON array with, per run, the records read
// or folded, the entities the store holds (counted after the clock stopped) and the seconds;
// the first run is the cold one of a fresh process.
const [mode, dir, runsText] = process.argv.slice(2);
if ((mode !== 'log' && mode !== 'store') || dir === undefined) throw new Error('usage: open-process.ts <log|store> <dir> <runs>');
const options = { dir, snapshotEvery: Number.MAX_SAFE_INTEGER };

interface Run {
  records: number;
  entities: number;
  seconds: number;
}

async function openOnce(): Promise<Run> {
  const started = performance.now();
  if (mode === 'log') {
    const log = fileLog(options);
    const { head } = await log.open();
    for (let from = 1; from <= head; from += 10_000) await log.read(from, 10_000);
    await log.close();
    return { records: head, entities: 0, seconds: (performance.now() - started) / 1000 };
  }
  const store = await openStore({ entities: [Item], log: fileLog(options) });
  const seconds = (performance.now() - started) / 1000;
  const run = { records: store.position, entities: store.list(Item).length, seconds };
  await store.close();
  return run;
}

const runs: Run[] = [];
for (let index = 0; index < Number(runsText ?? 1); index += 1) {
  collectGarbage();
  runs.push(await openOnce());
}
process.stdout.write(`${JSON.stringify(runs)}\n`);
