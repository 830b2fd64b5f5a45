import { InternalError, LogCorruptError, LogStoreError, type LogRecord } from '@ordo/core';

/**
 * One record is bigger than one etcd request may carry, so it can never be appended. Nothing
 * of its batch was written (`outcome` is 'not-written'); the code stays LOG_STORE_FAILED.
 */
export class RecordTooLargeError extends LogStoreError {
  readonly position: number;
  readonly bytes: number;
  readonly bytesMax: number;

  constructor(input: { position: number; txId: string; bytes: number; bytesMax: number }) {
    super({
      store: 'etcd',
      message: `record ${input.position} (txId ${input.txId}) is ${input.bytes} bytes of JSON, more than the ${input.bytesMax} one etcd request may carry (batchBytesMax)`,
      outcome: 'not-written',
    });
    this.position = input.position;
    this.bytes = input.bytes;
    this.bytesMax = input.bytesMax;
  }
}

/** A run of consecutive records stored under one key, written by one transaction. */
export interface BatchPart {
  readonly first: number;
  readonly count: number;
  readonly value: Buffer;
}

/**
 * Checks a batch before it crosses into etcd (a malformed batch is a bug in the caller, so it
 * is an InternalError) and cuts it into parts of at most `bytesMax` bytes and `recordsMax`
 * records. A record that alone is over `bytesMax` fails the whole batch before anything is sent.
 */
export function encodeBatchParts(records: readonly LogRecord[], limits: { bytesMax: number; recordsMax: number }): BatchPart[] {
  const first = records[0]?.position;
  if (first === undefined) throw new InternalError('append of an empty batch');
  if (!Number.isSafeInteger(first) || first < 1) throw new InternalError(`append batch starts at position ${first}`);
  const requestIds = new Set<string>();
  const encoded = records.map((record, index) => {
    if (record.position !== first + index) throw new InternalError('append batch positions are not consecutive');
    if (typeof record.txId !== 'string' || record.txId.length === 0) throw new InternalError(`record ${record.position} has no txId`);
    if (record.requestId !== undefined) {
      if (requestIds.has(record.requestId)) throw new InternalError(`requestId ${record.requestId} twice in one batch`);
      requestIds.add(record.requestId);
    }
    const json = JSON.stringify(record);
    const bytes = Buffer.byteLength(json);
    // The brackets of the array around it.
    if (bytes + 2 > limits.bytesMax) throw new RecordTooLargeError({ position: record.position, txId: record.txId, bytes, bytesMax: limits.bytesMax });
    return { json, bytes };
  });
  const parts: BatchPart[] = [];
  let start = 0;
  let bytes = 2;
  const cut = (end: number): void => {
    const value = Buffer.from(`[${encoded.slice(start, end).map((entry) => entry.json).join(',')}]`);
    parts.push({ first: first + start, count: end - start, value });
    start = end;
    bytes = 2;
  };
  for (const [index, entry] of encoded.entries()) {
    if (index > start && (bytes + 1 + entry.bytes > limits.bytesMax || index - start >= limits.recordsMax)) cut(index);
    bytes += (index > start ? 1 : 0) + entry.bytes;
  }
  cut(encoded.length);
  return parts;
}

/** Parses one stored batch and checks every record against the key it is stored under. */
export function decodeBatch(key: string, first: number, value: Buffer): LogRecord[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString());
  } catch (error) {
    throw new LogCorruptError({ file: key, offset: first, reason: `batch is not JSON: ${String(error)}` });
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw new LogCorruptError({ file: key, offset: first, reason: 'batch is not a non-empty array' });
  return parsed.map((candidate: Partial<LogRecord> | null, index) => {
    const position = first + index;
    if (typeof candidate !== 'object' || candidate === null || candidate.position !== position) {
      throw new LogCorruptError({ file: key, offset: position, reason: `stored record does not carry its position ${position}` });
    }
    if (typeof candidate.txId !== 'string' || !Array.isArray(candidate.changes)) {
      throw new LogCorruptError({ file: key, offset: position, reason: 'stored record lacks txId or changes' });
    }
    return candidate as LogRecord;
  });
}
