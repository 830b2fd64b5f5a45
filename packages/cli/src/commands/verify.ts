import { isOrdoError, openStore, type Snapshot, type Store } from '@ordo/core';
import { SnapshotMismatchError } from '../cli-errors.js';
import type { CommandInput } from '../command-input.js';
import { InspectionLog, snapshotOnlyLog } from '../inspection-log.js';
import type { LogTarget, SnapshotEntry } from '../log-target.js';
import { stateDifference } from '../state-difference.js';

interface Problem {
  readonly code: string;
  readonly message: string;
}

/**
 * `ordo verify`: opens the log read-only (a file log checks every frame's checksum and the
 * order of its segments), reads and checks every snapshot, then replays every record from the
 * start (or from the oldest snapshot when older history was pruned) and compares the state at
 * each snapshot's position with the snapshot. Exit code 0 only when all of it holds. Changes nothing.
 */
export async function verifyCommand(input: CommandInput): Promise<number> {
  const target = input.target();
  const inspection = await target.inspect();
  const problems: Problem[] = [];
  const snapshots = await readSnapshots(target, inspection.snapshots, problems);
  const first = inspection.firstPosition ?? 1;
  // Pruned history: the replay starts at the oldest snapshot that covers the first record kept.
  const start = first > 1 ? snapshots.find((entry) => entry.snapshot.position >= first - 1) : undefined;
  const later = snapshots.filter((entry) => entry.snapshot.position > (start?.snapshot.position ?? 0));
  const view = new InspectionLog(target.openLog({ writable: false }), {
    snapshot: start?.snapshot ?? 'none',
    upTo: start?.snapshot.position ?? 0,
    onRead: (count) => progress.advance(count),
  });
  const head = await headOf(target);
  const progress = input.progress('verify', Math.max(0, head - (start?.snapshot.position ?? 0)));
  const store = await openStore({ entities: [], log: view });
  try {
    for (const entry of later) {
      view.upTo = entry.snapshot.position;
      await store.sync();
      const problem = await compareWithSnapshot(store, entry);
      if (problem !== undefined) problems.push(problem);
    }
    view.upTo = Number.POSITIVE_INFINITY;
    await store.sync();
    progress.finish();
    report(input, { log: target.shown, head: store.position, firstPosition: first, snapshots: snapshots.length, problems });
  } finally {
    await store.close();
  }
  return problems.length === 0 ? 0 : 1;
}

async function headOf(target: LogTarget): Promise<number> {
  const log = target.openLog({ writable: false });
  try {
    return (await log.open()).head;
  } finally {
    await log.close();
  }
}

async function readSnapshots(target: LogTarget, entries: readonly SnapshotEntry[], problems: Problem[]): Promise<{ entry: SnapshotEntry; snapshot: Snapshot }[]> {
  const read: { entry: SnapshotEntry; snapshot: Snapshot }[] = [];
  for (const entry of entries) {
    try {
      read.push({ entry, snapshot: await target.readSnapshot(entry) });
    } catch (error) {
      if (!isOrdoError(error)) throw error;
      problems.push({ code: error.code, message: error.message });
    }
  }
  return read;
}

async function compareWithSnapshot(store: Store, { entry, snapshot }: { entry: SnapshotEntry; snapshot: Snapshot }): Promise<Problem | undefined> {
  const fromSnapshot = await openStore({ entities: [], log: snapshotOnlyLog(snapshot) });
  const expected = fromSnapshot.dump();
  await fromSnapshot.close();
  const reason = stateDifference(store.dump(), expected);
  if (reason === undefined) return undefined;
  const error = new SnapshotMismatchError({ where: entry.where, position: snapshot.position, reason });
  return { code: error.code, message: error.message };
}

function report(input: CommandInput, result: { log: string; head: number; firstPosition: number; snapshots: number; problems: readonly Problem[] }): void {
  const records = Math.max(0, result.head - result.firstPosition + 1);
  if (input.json) {
    input.outJson({ ok: result.problems.length === 0, ...result, records });
    return;
  }
  for (const problem of result.problems) input.io.out(`${problem.code}: ${problem.message}\n`);
  const verdict = result.problems.length === 0 ? 'ok' : `${result.problems.length} problem(s)`;
  input.io.out(`${verdict}: ${result.log}, records ${result.firstPosition}..${result.head} (${records}), ${result.snapshots} snapshot(s) checked against the replay\n`);
}
