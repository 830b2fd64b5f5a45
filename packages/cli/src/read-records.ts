import type { LogRecord, LogStore } from '@ordo/core';

/** Records read from a log store per call: large enough to stream fast, small enough to hold. */
export const readBatchRecords = 1_000;

/** The records `from`..`to` of an opened log store, batch by batch, in order. */
export async function* recordBatches(log: LogStore, from: number, to: number): AsyncGenerator<LogRecord[]> {
  for (let next = from; next <= to; ) {
    const batch = await log.read(next, Math.min(readBatchRecords, to - next + 1));
    if (batch.length === 0) return;
    yield batch;
    next += batch.length;
  }
}
