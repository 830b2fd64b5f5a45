import { checkAppendBatch, LogCorruptError, type LogRecord, type Snapshot } from '@ordo/core';

/** The columns of one batch, in the shape the append statement unnests. */
export interface EncodedBatch {
  readonly first: number;
  readonly txIds: string[];
  readonly requestIds: (string | null)[];
  readonly records: string[];
}

/**
 * Checks a batch before it crosses into the database, with the checks every log store shares
 * (a malformed batch is a bug in the caller, so it is an InternalError), and encodes it column
 * by column in the same pass.
 */
export function encodeBatch(records: readonly LogRecord[]): EncodedBatch {
  const txIds: string[] = [];
  const requestIds: (string | null)[] = [];
  const encoded: string[] = [];
  const first = checkAppendBatch(records, (record) => {
    txIds.push(record.txId);
    requestIds.push(record.requestId ?? null);
    encoded.push(JSON.stringify(record));
  });
  return { first, txIds, requestIds, records: encoded };
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
