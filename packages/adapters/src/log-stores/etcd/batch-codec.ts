import { checkAppendBatch, LogCorruptError, RecordTooLargeError, type LogRecord } from '@ordo/core';

/** A run of consecutive records stored under one key, written by one transaction. */
export interface BatchPart {
  readonly first: number;
  readonly count: number;
  readonly value: Buffer;
}

/**
 * Checks a batch before it crosses into etcd (the LogStore contract's checks, written once in
 * the core) and cuts it into parts of at most `bytesMax` bytes and `recordsMax`
 * records. A record that alone is over `bytesMax` fails the whole batch before anything is sent.
 */
export function encodeBatchParts(records: readonly LogRecord[], limits: { bytesMax: number; recordsMax: number }): BatchPart[] {
  const encoded: { json: string; bytes: number }[] = [];
  const first = checkAppendBatch(records, (record) => {
    const json = JSON.stringify(record);
    const bytes = Buffer.byteLength(json);
    // The brackets of the array around it.
    if (bytes + 2 > limits.bytesMax) throw new RecordTooLargeError({ store: 'etcd', position: record.position, bytesMax: limits.bytesMax - 2 });
    encoded.push({ json, bytes });
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
    throw new LogCorruptError({ store: 'etcd', location: key, position: first, reason: `batch is not JSON: ${String(error)}` });
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw new LogCorruptError({ store: 'etcd', location: key, position: first, reason: 'batch is not a non-empty array' });
  return parsed.map((candidate: Partial<LogRecord> | null, index) => {
    const position = first + index;
    if (typeof candidate !== 'object' || candidate === null || candidate.position !== position) {
      throw new LogCorruptError({ store: 'etcd', location: key, position, reason: `stored record does not carry its position ${position}` });
    }
    if (typeof candidate.txId !== 'string' || !Array.isArray(candidate.changes)) {
      throw new LogCorruptError({ store: 'etcd', location: key, position, reason: 'stored record lacks txId or changes' });
    }
    return candidate as LogRecord;
  });
}
