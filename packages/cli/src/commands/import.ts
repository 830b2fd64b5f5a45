import { CliUsageError } from '../cli-errors.js';
import type { CommandInput } from '../command-input.js';
import { readExport } from '../export-format.js';
import type { NewLog } from '../log-target.js';
import { NewLogWriter } from './copy.js';

/**
 * `ordo import --in FILE --log URL`: reads the export once to check it whole (format,
 * order, count, checksum), then again to write it into an empty log, folding as it goes.
 */
export async function importCommand(input: CommandInput): Promise<number> {
  const file = input.string('in');
  if (file === undefined) throw new CliUsageError('--in FILE is needed');
  const target = input.target();
  const checked = await readExport(file, () => undefined);
  let created: NewLog | undefined = await target.createLog();
  try {
    const writer = new NewLogWriter(created, input.progress('import', checked.records), checked.snapshotPosition, target.shown);
    await writer.start();
    let snapshot;
    await readExport(file, async (item) => {
      if ('record' in item) await writer.push(item.record);
      else snapshot = item.snapshot;
    });
    await writer.finish(snapshot);
    await created.publish();
    created = undefined;
    const summary = { in: file, log: target.shown, records: checked.records, snapshot: checked.snapshotPosition ?? null };
    if (input.json) input.outJson(summary);
    else input.io.out(`imported ${checked.records} records${checked.snapshotPosition === undefined ? '' : ` and the snapshot at ${checked.snapshotPosition}`} from ${file} into ${target.shown}\n`);
    return 0;
  } finally {
    await created?.discard();
  }
}
