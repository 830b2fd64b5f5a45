import { LogCorruptError } from '@ordo/core';
import type { CommandInput } from '../command-input.js';
import { AtomicFile } from '../atomic-file.js';
import { CliUsageError } from '../cli-errors.js';
import { ExportEncoder } from '../export-format.js';
import { recordBatches } from '../read-records.js';
import { newestSnapshot } from './copy.js';

/** `ordo export --log URL --out FILE [--snapshot]`: the log's records 1..head (and its newest snapshot) as an export file (export-format.ts). */
export async function exportCommand(input: CommandInput): Promise<number> {
  const out = input.string('out');
  if (out === undefined) throw new CliUsageError('--out FILE is needed');
  const target = input.target();
  const log = target.openLog({ writable: false });
  const file = await AtomicFile.create(out);
  try {
    const { head } = await log.open();
    const encoder = new ExportEncoder();
    await file.write(encoder.header({ log: target.shown, head, exportedAt: Date.now() }));
    const progress = input.progress('export', head);
    for await (const batch of recordBatches(log, 1, head)) {
      for (const record of batch) await file.write(encoder.record(record));
      progress.advance(batch.length);
    }
    if (encoder.recordCount !== head) throw new LogCorruptError({ store: target.shown, location: target.shown, position: encoder.recordCount + 1, reason: `the log store returned ${encoder.recordCount} records below its head ${head}` });
    const snapshot = input.values.snapshot === true ? await newestSnapshot(target, head) : undefined;
    if (snapshot !== undefined) await file.write(encoder.snapshot(snapshot));
    await file.write(encoder.end());
    await file.commit();
    progress.finish();
    const summary = { out, records: head, snapshot: snapshot?.position ?? null };
    if (input.json) input.outJson(summary);
    else input.io.out(`exported ${head} records${snapshot === undefined ? '' : ` and the snapshot at ${snapshot.position}`} from ${target.shown} to ${out}\n`);
    return 0;
  } catch (error) {
    await file.discard();
    throw error;
  } finally {
    await log.close();
  }
}
