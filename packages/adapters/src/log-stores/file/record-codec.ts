import type { Change, JsonObject, JsonValue, LogRecord } from '@ordo/core';

/**
 * The JSON form of a record inside a frame: a flat list of JSON values, without brackets, so
 * that the payloads of many frames joined with commas parse as one flat array. Replay speed is
 * mostly JSON.parse, and every array it builds costs: on the development machine a store
 * replayed 500,000 one-change records about 25% faster in this form than with one nested
 * array per record (interleaved runs), from slightly fewer bytes.
 *
 *   position, txId, time, changeCount, change..., extras
 *   change: 0, kind, id, version, data   create
 *           1, kind, id, version, data   update
 *           2, kind, id, version, 0      delete
 *           3, kind, id, version, data, schemaVersion   create at a schema version above 1
 *           4, kind, id, version, data, schemaVersion   update at a schema version above 1
 *   extras: { requestId?, operation?, result?, meta?, schemas? }, or 0 when the record has none of them
 *
 * Changes at schema version 1 (every change written before schema versions) keep the short
 * form, so such logs are byte for byte what they were.
 *
 * Logs written before this form hold one JSON array per payload (`legacy` below); they are
 * read as well. Every payload of a batch is checked to be exactly one record.
 */
type Extras = { requestId?: string; operation?: string; result?: JsonValue; meta?: JsonObject; schemas?: { [kind: string]: string } };

const opCodes = { create: 0, update: 1, delete: 2 } as const;
/** The codes of a create and an update followed by their schema version. */
const versionedCodes = { create: 3, update: 4 } as const;
const valuesPerChange = 5;

export function encodeRecord(record: LogRecord): string {
  const values: JsonValue[] = [record.position, record.txId, record.time, record.changes.length];
  for (const change of record.changes) {
    if (change.op === 'delete') values.push(opCodes.delete, change.kind, change.id, change.version, 0);
    else if (change.schemaVersion === undefined || change.schemaVersion === 1) values.push(opCodes[change.op], change.kind, change.id, change.version, change.data);
    else values.push(versionedCodes[change.op], change.kind, change.id, change.version, change.data, change.schemaVersion);
  }
  values.push(extrasOf(record) ?? 0);
  const text = JSON.stringify(values);
  return text.slice(1, -1);
}

function extrasOf(record: LogRecord): Extras | undefined {
  const { requestId, operation, result, meta, schemas } = record;
  if (requestId === undefined && operation === undefined && result === undefined && meta === undefined && schemas === undefined) return undefined;
  const extras: Extras = {};
  if (requestId !== undefined) extras.requestId = requestId;
  if (operation !== undefined) extras.operation = operation;
  if (result !== undefined) extras.result = result;
  if (meta !== undefined) extras.meta = meta;
  if (schemas !== undefined) extras.schemas = schemas;
  return extras;
}

/** Decodes one frame payload; throws `Error` with the reason when it is not exactly one record's encoding. */
export function decodeRecord(text: string): LogRecord {
  let values: unknown;
  try {
    values = JSON.parse(`[${text}]`);
  } catch {
    throw new Error('payload is not JSON');
  }
  const walk = new RecordWalk(values as unknown[]);
  const record = walk.next();
  if (!walk.done()) throw new Error('payload holds more than one record');
  return record;
}

/** A payload that is not a record's encoding: `index` says which of a batch. */
export class PayloadError extends Error {
  constructor(
    readonly index: number,
    reason: string,
  ) {
    super(reason);
  }
}

/**
 * Decodes the payloads `bytes[spans[2k]..spans[2k+1])` with one JSON.parse: they are copied
 * into `scratch` as one JSON array. Replay decodes thousands of small records per chunk, and
 * one parse call per record costs about a fifth more. Throws `PayloadError` naming the first
 * payload that is not a record. Returns the scratch buffer, grown when it was too small.
 */
export function decodeRecords(bytes: Buffer, spans: readonly number[], scratch: Buffer, into: LogRecord[]): Buffer {
  let needed = 2 + spans.length / 2;
  for (let index = 0; index < spans.length; index += 2) needed += (spans[index + 1] as number) - (spans[index] as number);
  const buffer = scratch.length >= needed ? scratch : Buffer.allocUnsafe(Math.max(needed, scratch.length * 2));
  let length = 0;
  buffer[length++] = 0x5b; // [
  for (let index = 0; index < spans.length; index += 2) {
    if (index > 0) buffer[length++] = 0x2c; // ,
    length += bytes.copy(buffer, length, spans[index], spans[index + 1]);
  }
  buffer[length++] = 0x5d; // ]
  let values: unknown[];
  try {
    values = JSON.parse(buffer.toString('utf8', 0, length)) as unknown[];
  } catch {
    return blamePayload(bytes, spans, 'payloads are not JSON together');
  }
  // The walk cannot tell where one payload ends (a payload with too few or too many values
  // shifts the rest), so any doubt is settled payload by payload.
  const first = into.length;
  const walk = new RecordWalk(values);
  try {
    for (let index = 0; index < spans.length; index += 2) into.push(walk.next());
  } catch {
    into.length = first;
    return blamePayload(bytes, spans, 'payloads do not decode together');
  }
  if (!walk.done()) {
    into.length = first;
    return blamePayload(bytes, spans, 'payloads hold more values than their records');
  }
  return buffer;
}

/** Decodes the payloads one by one to name the first that is not a record, for an exact report. */
function blamePayload(bytes: Buffer, spans: readonly number[], together: string): never {
  for (let index = 0; index < spans.length; index += 2) {
    try {
      decodeRecord(bytes.toString('utf8', spans[index], spans[index + 1]));
    } catch (error) {
      throw new PayloadError(index / 2, (error as Error).message);
    }
  }
  throw new PayloadError(0, together);
}

/** Reads records off a flat array of parsed values, one after the other; index access only, as replay runs it once per record. */
class RecordWalk {
  private cursor = 0;

  constructor(private readonly values: readonly unknown[]) {}

  done(): boolean {
    return this.cursor === this.values.length;
  }

  next(): LogRecord {
    const { values } = this;
    const at = this.cursor;
    const position: unknown = values[at];
    // A payload written before the flat form: one array.
    if (Array.isArray(position)) {
      this.cursor = at + 1;
      return legacy(position);
    }
    const txId: unknown = values[at + 1];
    const time: unknown = values[at + 2];
    const count: unknown = values[at + 3];
    if (typeof position !== 'number' || typeof txId !== 'string' || typeof time !== 'number' || typeof count !== 'number') {
      throw new Error('payload has malformed record fields');
    }
    // Each change takes at least valuesPerChange values (one more with a schema version).
    if (!Number.isSafeInteger(count) || count < 0 || at + 4 + count * valuesPerChange >= values.length) throw new Error('payload has a malformed change count');
    const changes: Change[] = new Array<Change>(count);
    let end = at + 4;
    for (let index = 0; index < count; index += 1) {
      const code: unknown = values[end];
      if (code === versionedCodes.create || code === versionedCodes.update) {
        changes[index] = versionedChange(values, end);
        end += valuesPerChange + 1;
      } else {
        changes[index] = flatChange(values, end);
        end += valuesPerChange;
      }
    }
    if (end >= values.length) throw new Error('payload has a malformed change count');
    const record: { -readonly [Key in keyof LogRecord]: LogRecord[Key] } = { position, txId, time, changes };
    const extras: unknown = values[end];
    if (extras !== 0) addExtras(record, extras);
    this.cursor = end + 1;
    return record;
  }
}

function flatChange(values: readonly unknown[], at: number): Change {
  return change(values[at], values[at + 1], values[at + 2], values[at + 3], values[at + 4], 0);
}

/** A create or update written at a schema version above 1: the version follows the data. */
function versionedChange(values: readonly unknown[], at: number): Change {
  const schemaVersion: unknown = values[at + 5];
  if (typeof schemaVersion !== 'number' || !Number.isSafeInteger(schemaVersion) || schemaVersion < 2) throw new Error('payload has a malformed schema version');
  const op = values[at] === versionedCodes.create ? opCodes.create : opCodes.update;
  const plain = change(op, values[at + 1], values[at + 2], values[at + 3], values[at + 4], 0);
  return { ...(plain as Exclude<Change, { op: 'delete' }>), schemaVersion };
}

/** Builds a change from its values; `absent` is what stands for a delete's missing data. */
function change(op: unknown, kind: unknown, id: unknown, version: unknown, data: unknown, absent: unknown): Change {
  if (typeof kind !== 'string' || typeof id !== 'string' || typeof version !== 'number') throw new Error('payload has a malformed change');
  if (op === opCodes.delete && data === absent) return { op: 'delete', kind, id, version };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('payload has a malformed change');
  if (op === opCodes.create) return { op: 'create', kind, id, version, data: data as JsonObject };
  if (op === opCodes.update) return { op: 'update', kind, id, version, data: data as JsonObject };
  throw new Error(`payload has an unknown change code ${String(op)}`);
}

/** The form before the flat one: [position, txId, time, [[op, kind, id, version, data?]...], extras?]. */
function legacy(parsed: readonly unknown[]): LogRecord {
  if (parsed.length < 4 || parsed.length > 5) throw new Error('payload is not an encoded record');
  const [position, txId, time, changes] = parsed;
  if (typeof position !== 'number' || typeof txId !== 'string' || typeof time !== 'number' || !Array.isArray(changes)) {
    throw new Error('payload has malformed record fields');
  }
  const record: { -readonly [Key in keyof LogRecord]: LogRecord[Key] } = {
    position,
    txId,
    time,
    changes: changes.map((encoded: unknown) => {
      if (!Array.isArray(encoded) || encoded.length < 4 || encoded.length > 5) throw new Error('payload has a malformed change');
      return change(encoded[0], encoded[1], encoded[2], encoded[3], encoded[4], undefined);
    }),
  };
  if (parsed.length === 5) addExtras(record, parsed[4]);
  return record;
}

function addExtras(record: { -readonly [Key in keyof LogRecord]: LogRecord[Key] }, extras: unknown): void {
  if (typeof extras !== 'object' || extras === null || Array.isArray(extras)) throw new Error('payload has malformed extras');
  const { requestId, operation, result, meta, schemas } = extras as Extras;
  if (requestId !== undefined) record.requestId = requestId;
  if (operation !== undefined) record.operation = operation;
  if (result !== undefined) record.result = result;
  if (meta !== undefined) record.meta = meta;
  if (schemas !== undefined) record.schemas = schemas;
}
