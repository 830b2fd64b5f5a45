import { spawnSync } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore, type LogRecord } from '@ordo/core';
import { fileLog } from '@ordo/adapters/file';
import { closedLoop, type BenchContext, type BenchResult, type BenchSuite } from '../harness.js';
import { createItem, Item, itemsForUpdates, seedItems, updateRandomItem } from '../workloads.js';

// The issue 3 benchmarks: Ordo on the file log store (durable: fdatasync before every
// acknowledgement), the raw write + fdatasync rate of the same disk, replay without a
// snapshot, and opening a store of 1,000,000 entities from its snapshot. The open rows run in
// a fresh process each (see open-process.ts).
// context.tempDir uses os.tmpdir(); on the development machine /tmp and /work are one disk.
const replayRecords = 500_000;
// Replay is a one-shot measurement of about a second: the row shows the median of this many runs.
const replayRuns = 5;
const snapshotEntities = 1_000_000;
// Opening from the snapshot is measured in this many fresh processes, one cold open each.
const snapshotOpenProcesses = 3;
const appendBatchRecords = 1_000;

// The disk's fdatasync rate drifts (other work shares it), so the single-caller figures are
// measured in interleaved slices: raw (two ways), create, update, raw... Each row's
// ops/s is the mean over its slices (equal durations), p50 the median of the slices' p50s,
// p99 the worst slice's p99.
const singleCallerSlices = 12;
const sliceMs = 250;
const multiCallerMs = 3000;

type Operation = () => Promise<unknown>;

/**
 * The physical limit for one caller: write 128 bytes and fdatasync, synchronously, in a loop
 * with nothing else (no event loop hop, no encoding). 'append' grows the file with each write,
 * as a plain log does; 'preallocated' overwrites zeros written and synced beforehand, as the
 * file store does by default (its fdatasync then skips the file-size update).
 */
function rawFdatasync(context: BenchContext, mode: 'append' | 'preallocated'): { operation: Operation; close(): void } {
  const fd = openSync(join(context.tempDir(`raw-${mode}`), 'raw.bin'), 'wx');
  const bytes = Buffer.alloc(128, 7);
  const room = 64 * 1024 * 1024;
  if (mode === 'preallocated') {
    const zeros = Buffer.alloc(1024 * 1024);
    for (let offset = 0; offset < room; offset += zeros.length) writeSync(fd, zeros, 0, zeros.length, offset);
    fdatasyncSync(fd);
  }
  let offset = 0;
  return {
    operation: async () => {
      // Wrap around inside the preallocated room; an append file just grows.
      if (mode === 'preallocated' && offset + bytes.length > room) offset = 0;
      offset += writeSync(fd, bytes, 0, bytes.length, offset);
      fdatasyncSync(fd);
    },
    close: () => closeSync(fd),
  };
}

async function singleCaller(context: BenchContext, rows: Record<string, { system: string; operation: Operation }>): Promise<void> {
  const slices = new Map<string, BenchResult[]>(Object.keys(rows).map((key) => [key, []]));
  for (let slice = 0; slice < singleCallerSlices; slice += 1) {
    for (const [workload, row] of Object.entries(rows)) {
      const result = await closedLoop({ system: row.system, workload, concurrency: 1, durationMs: sliceMs * context.scale, warmupMs: 50, operation: row.operation });
      slices.get(workload)?.push(result);
    }
  }
  const raw = mean((slices.get('append') ?? []).map((result) => result.opsPerSec));
  const preallocated = mean((slices.get('preallocated') ?? []).map((result) => result.opsPerSec));
  for (const [workload, results] of slices) {
    const opsPerSec = Math.round(mean(results.map((result) => result.opsPerSec)));
    const p50s = results.map((result) => result.p50Ms).sort((a, b) => a - b);
    context.report({
      system: results[0]?.system ?? workload,
      workload,
      concurrency: 1,
      opsPerSec,
      p50Ms: p50s[Math.floor(p50s.length / 2)] ?? 0,
      p99Ms: Math.max(...results.map((result) => result.p99Ms)),
      extra: { ofRawAppend: round(opsPerSec / raw), ofRawPreallocated: round(opsPerSec / preallocated), sliceMin: Math.min(...results.map((result) => result.opsPerSec)), sliceMax: Math.max(...results.map((result) => result.opsPerSec)) },
    });
  }
}

async function storeWorkloads(context: BenchContext): Promise<void> {
  const store = await openStore({ entities: [Item], log: fileLog({ dir: context.tempDir('store') }) });
  const ids = await seedItems(store, itemsForUpdates, 1_000);
  const rawAppend = rawFdatasync(context, 'append');
  const rawPreallocated = rawFdatasync(context, 'preallocated');
  const workloads = {
    create: () => createItem(store),
    update: () => updateRandomItem(store, ids),
  };
  try {
    await singleCaller(context, {
      append: { system: 'raw-fdatasync', operation: rawAppend.operation },
      preallocated: { system: 'raw-fdatasync', operation: rawPreallocated.operation },
      create: { system: 'ordo-file', operation: workloads.create },
      update: { system: 'ordo-file', operation: workloads.update },
    });
    for (const [workload, operation] of Object.entries(workloads)) {
      context.report(await closedLoop({ system: 'ordo-file', workload, concurrency: 64, durationMs: multiCallerMs * context.scale, operation }));
    }
  } finally {
    rawAppend.close();
    rawPreallocated.close();
    await store.close();
  }
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Writes `recordsCount` records of `changesPerRecord` item creations straight through the log store. */
async function writeLog(dir: string, recordsCount: number, changesPerRecord: number): Promise<void> {
  const log = fileLog({ dir, snapshotEvery: Number.MAX_SAFE_INTEGER });
  await log.open();
  for (let first = 1; first <= recordsCount; first += appendBatchRecords) {
    const batch: LogRecord[] = [];
    for (let position = first; position < first + appendBatchRecords && position <= recordsCount; position += 1) {
      const changes = Array.from({ length: changesPerRecord }, (_, index) => {
        const number = (position - 1) * changesPerRecord + index;
        return { op: 'create' as const, kind: 'item', id: `item-${String(number).padStart(10, '0')}`, version: 1, data: { name: `seed-${number}`, value: 0 } };
      });
      batch.push({ position, txId: `tx-${String(position).padStart(12, '0')}`, time: 1_700_000_000_000 + position, changes });
    }
    await log.append(batch);
  }
  await log.close();
}

async function replay(context: BenchContext): Promise<void> {
  const dir = context.tempDir('replay');
  const recordsCount = Math.round(replayRecords * context.scale);
  await writeLog(dir, recordsCount, 1);
  // The log store alone: open (verifies every frame) and read every record in pages.
  context.report(replayRow('replay-log', openInProcess('log', dir, replayRuns)));
  // A whole store: open without a snapshot, fold every record into state and indexes.
  context.report(replayRow('replay', openInProcess('store', dir, replayRuns)));
}

/** One open, as test/bench/open-process.ts reports it. */
interface OpenRun {
  readonly records: number;
  readonly entities: number;
  readonly seconds: number;
}

/**
 * Opens the log in `dir` `runs` times in a fresh node process (test/bench/open-process.ts),
 * as a store opens at the start of its process; each run starts after a full collection.
 */
function openInProcess(mode: 'log' | 'store', dir: string, runs: number): OpenRun[] {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'open-process.ts');
  const child = spawnSync(process.execPath, [...process.execArgv, script, mode, dir, String(runs)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (child.status !== 0) throw new Error(`open-process ${mode} exited with ${String(child.status ?? child.signal)}`);
  return JSON.parse(child.stdout) as OpenRun[];
}

/** The median run's rate, with the first, fastest and slowest runs in `extra`. */
function replayRow(workload: string, runs: readonly OpenRun[]): BenchResult {
  const rates = runs.map((run) => Math.round(run.records / run.seconds));
  const sorted = [...rates].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  return {
    system: 'ordo-file',
    workload,
    concurrency: 1,
    opsPerSec: median,
    p50Ms: 0,
    p99Ms: 0,
    extra: { records: runs[0]?.records ?? 0, runs: runs.length, first: rates[0] ?? 0, min: sorted[0] ?? 0, max: sorted.at(-1) ?? 0 },
  };
}

async function openSnapshot(context: BenchContext): Promise<void> {
  const dir = context.tempDir('snapshot');
  const entities = Math.round(snapshotEntities * context.scale);
  const changesPerRecord = 1_000;
  await writeLog(dir, Math.ceil(entities / changesPerRecord), changesPerRecord);
  const built = await openStore({ entities: [Item], log: fileLog({ dir, snapshotEvery: Number.MAX_SAFE_INTEGER }) });
  const started = performance.now();
  await built.snapshot();
  const writeSeconds = (performance.now() - started) / 1000;
  await built.close();
  // What a restart costs: the cold open of a fresh process, the median of a few such processes.
  const runs = Array.from({ length: snapshotOpenProcesses }, () => openInProcess('store', dir, 1)[0]);
  const seconds = runs.map((run) => run?.seconds ?? Number.NaN).sort((a, b) => a - b);
  const median = seconds[Math.floor(seconds.length / 2)] ?? Number.NaN;
  const opened = runs[0]?.entities ?? 0;
  context.report({
    system: 'ordo-file',
    workload: 'open-snapshot',
    concurrency: 1,
    opsPerSec: Math.round(opened / median),
    p50Ms: 0,
    p99Ms: 0,
    extra: { seconds: round(median), entities: opened, processes: runs.length, min: round(seconds[0] ?? Number.NaN), max: round(seconds.at(-1) ?? Number.NaN), snapshotWriteSeconds: round(writeSeconds) },
  });
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

const suite: BenchSuite = {
  name: 'file',
  async run(context) {
    await storeWorkloads(context);
    await replay(context);
    await openSnapshot(context);
  },
};

export default suite;
