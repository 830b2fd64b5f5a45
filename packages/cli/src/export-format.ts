import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { LogRecord, Snapshot } from '@ordo/core';
import { ExportFormatError } from './cli-errors.js';

/**
 * The export format, version 1: UTF-8 text, one JSON value per line (so it streams both ways
 * and a line-oriented tool can look inside):
 *
 *   {"ordoExport":1,"log":"file:./data","head":120,"exportedAt":1767225600000}
 *   {"record":{...}}        one per record, positions 1..head in order, exactly as stored
 *   {"snapshot":{...}}      optional, at most one: a snapshot the log kept, at or below head
 *   {"end":{"records":120,"sha256":"<hex>"}}
 *
 * `sha256` is the SHA-256 of every byte before the `end` line. A file without a valid end
 * line (cut short, edited, or still being written) is refused as a whole: import reads it once
 * to check it before it writes anything.
 */
export const exportFormatVersion = 1;

export interface ExportHeader {
  readonly ordoExport: number;
  readonly log: string;
  readonly head: number;
  readonly exportedAt: number;
}

/** Builds the lines of an export and their checksum. */
export class ExportEncoder {
  private readonly hash: Hash = createHash('sha256');
  private records = 0;

  get recordCount(): number {
    return this.records;
  }

  header(header: Omit<ExportHeader, 'ordoExport'>): string {
    return this.line({ ordoExport: exportFormatVersion, ...header });
  }

  record(record: LogRecord): string {
    this.records += 1;
    return this.line({ record });
  }

  snapshot(snapshot: Snapshot): string {
    return this.line({ snapshot });
  }

  end(): string {
    return `${JSON.stringify({ end: { records: this.records, sha256: this.hash.digest('hex') } })}\n`;
  }

  private line(value: unknown): string {
    const text = `${JSON.stringify(value)}\n`;
    this.hash.update(text);
    return text;
  }
}

export type ExportItem = { readonly record: LogRecord } | { readonly snapshot: Snapshot };

/** What a check of a whole export found: its header, count, and its snapshot's position. */
export interface CheckedExport {
  readonly header: ExportHeader;
  readonly records: number;
  readonly snapshotPosition: number | undefined;
}

/**
 * Reads an export line by line. `onItem` is called for each record and snapshot in order,
 * after its line passed the format's checks (the checksum can only be judged at the end, so a
 * caller that writes must have checked the whole file first).
 */
export async function readExport(file: string, onItem: (item: ExportItem) => void | Promise<void>): Promise<CheckedExport> {
  const hash = createHash('sha256');
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  let header: ExportHeader | undefined;
  let records = 0;
  let snapshotPosition: number | undefined;
  let lineNumber = 0;
  const fail = (reason: string): never => {
    throw new ExportFormatError({ file, line: lineNumber, reason });
  };
  for await (const text of lines) {
    lineNumber += 1;
    const value = parseLine(text, fail);
    if (header === undefined) {
      header = checkHeader(value, fail);
    } else if ('end' in value) {
      checkEnd(value.end, { records, sha256: hash.digest('hex') }, fail);
      if (header.head !== records) fail(`the header says ${header.head} records, the file holds ${records}`);
      return { header, records, snapshotPosition };
    } else if ('record' in value) {
      const record = value.record as LogRecord;
      if (snapshotPosition !== undefined) fail('a record after the snapshot');
      if (typeof record !== 'object' || record === null || record.position !== records + 1) fail(`record ${records + 1} expected`);
      records += 1;
      await onItem({ record });
    } else if ('snapshot' in value) {
      const snapshot = value.snapshot as Snapshot;
      if (snapshotPosition !== undefined) fail('a second snapshot');
      if (typeof snapshot !== 'object' || snapshot === null || snapshot.format !== 1 || !Number.isSafeInteger(snapshot.position) || snapshot.position > records) {
        fail('the snapshot is malformed or lies beyond the records');
      }
      snapshotPosition = snapshot.position;
      await onItem({ snapshot });
    } else {
      fail('a line that is neither record, snapshot nor end');
    }
    hash.update(`${text}\n`);
  }
  return fail(header === undefined ? 'the file is empty' : 'the file ends without its end line: it is incomplete');
}

function parseLine(text: string, fail: (reason: string) => never): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('not a JSON object');
  return value as Record<string, unknown>;
}

function checkHeader(value: Record<string, unknown>, fail: (reason: string) => never): ExportHeader {
  if (typeof value.ordoExport !== 'number') return fail('not an Ordo export (no ordoExport header)');
  if (value.ordoExport !== exportFormatVersion) return fail(`export format version ${value.ordoExport}; this ordo reads version ${exportFormatVersion}`);
  if (!Number.isSafeInteger(value.head) || (value.head as number) < 0) return fail('the header has no valid head');
  return value as unknown as ExportHeader;
}

function checkEnd(end: unknown, actual: { records: number; sha256: string }, fail: (reason: string) => never): void {
  const given = end as { records?: unknown; sha256?: unknown } | null;
  if (typeof given !== 'object' || given === null) fail('malformed end line');
  if (given?.records !== actual.records) fail(`the end line counts ${String(given?.records)} records, the file holds ${actual.records}`);
  if (given?.sha256 !== actual.sha256) fail('checksum mismatch: the file was damaged or changed');
}
