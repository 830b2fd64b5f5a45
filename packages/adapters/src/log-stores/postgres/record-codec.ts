import { InternalError, LogCorruptError, type LogRecord, type Snapshot } from '@ordo/core';

/** The columns of one batch, in the shape the append statement unnests. */
export interface EncodedBatch {
  readonly first: number;
  readonly txIds: string[];
  readonly requestIds: (string | null)[];
  readonly records: string[];
}

/**
 * Checks a batch before it crosses into the database (a malformed batch is a bug in the
 * caller, so it is an InternalError) and encodes it column by column.
 */
export function encodeBatch(records: readonly LogRecord[]): EncodedBatch {
  const first = records[0]?.position;
  if (first === undefined) throw new InternalError('append of an empty batch');
  if (!Number.isSafeInteger(first) || first < 1) throw new InternalError(`append batch starts at position ${first}`);
  let seenRequestIds: Set<string> | undefined;
  const batch: EncodedBatch = { first, txIds: [], requestIds: [], records: [] };
  for (const [index, record] of records.entries()) {
    if (record.position !== first + index) throw new InternalError('append batch positions are not consecutive');
    if (typeof record.txId !== 'string' || record.txId.length === 0) throw new InternalError(`record ${record.position} has no txId`);
    if (record.requestId !== undefined) {
      seenRequestIds ??= new Set();
      if (seenRequestIds.has(record.requestId)) throw new InternalError(`requestId ${record.requestId} twice in one batch`);
      seenRequestIds.add(record.requestId);
    }
    batch.txIds.push(record.txId);
    batch.requestIds.push(record.requestId ?? null);
    batch.records.push(JSON.stringify(record));
  }
  return batch;
}

/** Parses one stored row and checks it against its key: stored data is checked on the way out too. */
export function decodeRecord(where: string, position: number, text: string): LogRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new LogCorruptError({ store: 'postgres', location: where, position, reason: `record is not JSON: ${String(error)}` });
  }
  const candidate = parsed as Partial<LogRecord> | null;
  if (typeof candidate !== 'object' || candidate === null || candidate.position !== position) {
    throw new LogCorruptError({ store: 'postgres', location: where, position, reason: 'stored record does not carry its own position' });
  }
  if (typeof candidate.txId !== 'string' || !Array.isArray(candidate.changes)) {
    throw new LogCorruptError({ store: 'postgres', location: where, position, reason: 'stored record lacks txId or changes' });
  }
  return candidate as LogRecord;
}

export function decodeSnapshot(where: string, position: number, text: string): Snapshot {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new LogCorruptError({ store: 'postgres', location: where, position, reason: `snapshot is not JSON: ${String(error)}` });
  }
  const candidate = parsed as Partial<Snapshot> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    candidate.format !== 1 ||
    candidate.position !== position ||
    !Array.isArray(candidate.entities) ||
    !Array.isArray(candidate.requests)
  ) {
    throw new LogCorruptError({ store: 'postgres', location: where, position, reason: 'stored snapshot is malformed' });
  }
  return candidate as Snapshot;
}

/** Positions travel as text (bigint); anything beyond 2^53 would lose precision in JavaScript. */
export function positionFromText(where: string, text: unknown): number {
  const position = Number(text);
  if (typeof text !== 'string' || !Number.isSafeInteger(position) || position < 0) {
    throw new LogCorruptError({ store: 'postgres', location: where, reason: `position ${String(text)} is not a safe integer` });
  }
  return position;
}
