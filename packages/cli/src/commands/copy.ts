import { isOrdoError, type LogRecord, type LogStore, type Snapshot } from '@ordo/core';
import { canonicalJson } from '../canonical-json.js';
import { CheckedFold } from '../checked-fold.js';
import { CopyMismatchError, CliUsageError, ExportFormatError } from '../cli-errors.js';
import type { CommandInput } from '../command-input.js';
import type { LogTarget, NewLog } from '../log-target.js';
import type { Progress } from '../progress.js';
import { readBatchRecords, recordBatches } from '../read-records.js';

/** The newest snapshot a log keeps at or below `head`, or undefined. */
export async function newestSnapshot(target: LogTarget, head: number): Promise<Snapshot | undefined> {
  const entries = (await target.inspect()).snapshots.filter((entry) => entry.position <= head);
  const newest = entries.at(-1);
  return newest === undefined ? undefined : target.readSnapshot(newest);
}

/**
 * Writes records into a new log in batches, folding them as they go (CheckedFold). The
 * caller pushes records in position order from 1; `finish` writes the snapshot, if any.
 */
export class NewLogWriter {
  private batch: LogRecord[] = [];
  private readonly fold: CheckedFold;
  written = 0;

  constructor(
    private readonly target: NewLog,
    private readonly progress: Progress,
    private readonly snapshotPosition: number | undefined,
    private readonly where: string,
  ) {
    this.fold = new CheckedFold(new Set(snapshotPosition === undefined ? [] : [snapshotPosition]));
  }

  async start(): Promise<void> {
    const { head } = await this.target.log.open();
    if (head !== 0) throw new CliUsageError(`${this.where} gained records while it was being written`);
  }

  async push(record: LogRecord): Promise<void> {
    this.batch.push(record);
    if (this.batch.length >= readBatchRecords || record.position === this.snapshotPosition) await this.flush();
  }

  async finish(snapshot: Snapshot | undefined): Promise<void> {
    await this.flush();
    if (snapshot !== undefined) {
      const reason = await this.fold.checkSnapshot(snapshot);
      if (reason !== undefined) throw new CopyMismatchError({ target: this.where, position: snapshot.position, reason: `the snapshot is not the state its records give: ${reason}` });
      await this.target.log.writeSnapshot?.(snapshot);
    }
    await this.fold.close();
    this.progress.finish();
  }

  private async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    try {
      await this.fold.fold(batch);
    } catch (error) {
      const position = batch[0]?.position ?? 0;
      const reason = isOrdoError(error) ? error.message : String(error);
      throw new ExportFormatError({ file: this.where, line: position, reason: `records from ${position} do not fold into a valid state: ${reason}` });
    }
    await this.target.log.append(batch);
    this.written += batch.length;
    this.progress.advance(batch.length);
  }
}

/** Reads both logs record by record and throws at the first difference. */
export async function compareLogs(source: LogStore, copy: LogStore, head: number, where: string, progress: Progress): Promise<void> {
  const copied = await copy.open();
  if (copied.head !== head) throw new CopyMismatchError({ target: where, position: copied.head, reason: `the copy's head is ${copied.head}, the source's ${head}` });
  for await (const batch of recordBatches(source, 1, head)) {
    const first = batch[0]?.position ?? 1;
    const theirs = await copy.read(first, batch.length);
    batch.forEach((record, index) => {
      if (canonicalJson(record) !== canonicalJson(theirs[index])) {
        throw new CopyMismatchError({ target: where, position: record.position, reason: 'the record read back differs from the source' });
      }
    });
    progress.advance(batch.length);
  }
  progress.finish();
}

/**
 * `ordo copy --from URL --to URL [--snapshot]`: copies every record (positions, txIds,
 * requestIds, times, everything, as stored) into an empty log, reads the copy back and
 * compares it record by record with the source; only then does the copy appear at its URL.
 */
export async function copyCommand(input: CommandInput): Promise<number> {
  const from = input.target('from');
  const to = input.target('to');
  const source = from.openLog({ writable: false });
  let created: NewLog | undefined;
  try {
    const { head } = await source.open();
    const snapshot = input.values.snapshot === true ? await newestSnapshot(from, head) : undefined;
    created = await to.createLog();
    const writer = new NewLogWriter(created, input.progress('copy', head), snapshot?.position, to.shown);
    await writer.start();
    for await (const batch of recordBatches(source, 1, head)) for (const record of batch) await writer.push(record);
    await writer.finish(snapshot);
    const readBack = created.readBack();
    try {
      await compareLogs(source, readBack, head, to.shown, input.progress('compare', head));
    } finally {
      await readBack.close();
    }
    await created.publish();
    created = undefined;
    const summary = { from: from.shown, to: to.shown, records: head, snapshot: snapshot?.position ?? null };
    if (input.json) input.outJson(summary);
    else input.io.out(`copied ${head} records${snapshot === undefined ? '' : ` and the snapshot at ${snapshot.position}`} from ${from.shown} to ${to.shown}, compared record by record\n`);
    return 0;
  } finally {
    await created?.discard();
    await source.close();
  }
}
