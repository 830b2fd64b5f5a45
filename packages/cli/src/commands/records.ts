import type { LogRecord } from '@ordo/core';
import type { CommandInput } from '../command-input.js';
import { readBatchRecords, recordBatches } from '../read-records.js';
import { recordHeader, recordLine } from '../record-text.js';

/** `ordo records --from N [--limit K] [--kind K]`: records as lines, or one JSON record per line with --json. */
export async function recordsCommand(input: CommandInput): Promise<number> {
  const from = input.integer('from', 1) ?? 1;
  const limit = input.integer('limit', 1) ?? Number.POSITIVE_INFINITY;
  const kind = input.string('kind');
  const log = input.target().openLog({ writable: false });
  try {
    const { head } = await log.open();
    if (!input.json) input.io.out(`${recordHeader}\n`);
    let shown = 0;
    for await (const batch of recordBatches(log, from, head)) {
      for (const record of batch) {
        if (shown >= limit) return 0;
        if (kind !== undefined && !record.changes.some((change) => change.kind === kind)) continue;
        printRecord(input, record);
        shown += 1;
      }
    }
    return 0;
  } finally {
    await log.close();
  }
}

export function printRecord(input: CommandInput, record: LogRecord): void {
  input.io.out(input.json ? `${JSON.stringify(record)}\n` : `${recordLine(record)}\n`);
}

/** Wait between looks for new records when the log store cannot tell (a file log written by another process). */
export const tailPollMs = 250;

/** `ordo tail [--from N]`: prints records from N (default: after the head) and follows new ones until stopped. */
export async function tailCommand(input: CommandInput): Promise<number> {
  const log = input.target().openLog({ writable: false });
  const { signal } = input.io;
  try {
    const { head } = await log.open();
    let next = input.integer('from', 1) ?? head + 1;
    let wake: (() => void) | undefined;
    const unsubscribe = log.subscribe(() => wake?.());
    try {
      if (!input.json) input.io.out(`${recordHeader}\n`);
      while (!signal.aborted) {
        const batch = await log.read(next, readBatchRecords);
        for (const record of batch) printRecord(input, record);
        next += batch.length;
        if (batch.length === 0) await pause(signal, (resolve) => (wake = resolve));
      }
    } finally {
      unsubscribe();
    }
    return 0;
  } finally {
    await log.close();
  }
}

function pause(signal: AbortSignal, onWake: (resolve: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, tailPollMs);
    signal.addEventListener('abort', done);
    onWake(done);
  });
}
