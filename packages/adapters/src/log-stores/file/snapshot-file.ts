import { crc32 } from 'node:zlib';
import type { JsonValue, Snapshot } from '@ordo/core';
import type { FileLogFileSystem } from './file-system.js';
import { readFully } from './read-fully.js';

/**
 * A snapshot file:
 *
 *   header (24 bytes):   'ORDOSNP1', position (f64), crc32 of the 16 bytes before (u32), 4 zero bytes
 *   sections:            length (u32), crc32 of kind + payload (u32), kind (u32), payload (UTF-8 JSON)
 *                        kind 1: an array of entity rows, kind 2: an array of request rows,
 *                        kind 4 (at most one): the schema version per kind (`Snapshot.schemas`),
 *                        kind 3 (last): { position, entities, requests } counts that close the file
 *
 * Rows go in sections of `snapshotRowsPerSection` so that one JSON.parse handles thousands of
 * rows at a time (fast), while no single string approaches V8's string length limit.
 * A file is valid only if every checksum matches, the closing section's counts match, and
 * nothing follows it; anything else is damage, and the caller falls back to an older snapshot.
 */
const snapshotMagic = Buffer.from('ORDOSNP1', 'latin1');
const headerBytes = 24;
const sectionHeaderBytes = 12;
export const snapshotRowsPerSection = 4096;
// Write in pieces of about this size: large sequential writes, without holding the whole file,
// and short enough (~10 ms of encoding) that commits are not held up while a snapshot is written.
const writeBufferBytes = 1024 * 1024;

const sectionEntities = 1;
const sectionRequests = 2;
const sectionEnd = 3;
const sectionSchemas = 4;

type EntityRow = Snapshot['entities'][number];
type RequestRow = Snapshot['requests'][number];

/** Writes `snapshot` to `path` (a temporary name) and fdatasyncs it when `durable`. */
export async function writeSnapshotFile(fileSystem: FileLogFileSystem, path: string, snapshot: Snapshot, durable: boolean): Promise<void> {
  const handle = await fileSystem.open(path, 'create');
  try {
    let offset = 0;
    let pending: Buffer[] = [snapshotHeader(snapshot.position)];
    let pendingBytes = headerBytes;
    const flush = async (): Promise<void> => {
      const bytes = Buffer.concat(pending, pendingBytes);
      await handle.write(bytes, offset);
      offset += bytes.length;
      pending = [];
      pendingBytes = 0;
      // Encoding a large state is CPU work; let commits (fsync completions) through between pieces.
      await new Promise<void>((resolve) => setImmediate(resolve));
    };
    for (const section of sections(snapshot)) {
      pending.push(section);
      pendingBytes += section.length;
      if (pendingBytes >= writeBufferBytes) await flush();
    }
    await flush();
    if (durable) await handle.datasync();
  } finally {
    await handle.close();
  }
}

function* sections(snapshot: Snapshot): Generator<Buffer> {
  for (let start = 0; start < snapshot.entities.length; start += snapshotRowsPerSection) {
    yield section(sectionEntities, JSON.stringify(snapshot.entities.slice(start, start + snapshotRowsPerSection)));
  }
  for (let start = 0; start < snapshot.requests.length; start += snapshotRowsPerSection) {
    // A row without a result keeps three elements: JSON would turn an explicit undefined into null.
    const rows = snapshot.requests.slice(start, start + snapshotRowsPerSection).map((row) => (row[3] === undefined ? row.slice(0, 3) : row));
    yield section(sectionRequests, JSON.stringify(rows));
  }
  if (snapshot.schemas !== undefined) yield section(sectionSchemas, JSON.stringify(snapshot.schemas));
  const counts = { position: snapshot.position, entities: snapshot.entities.length, requests: snapshot.requests.length };
  yield section(sectionEnd, JSON.stringify(counts));
}

function snapshotHeader(position: number): Buffer {
  const header = Buffer.alloc(headerBytes);
  snapshotMagic.copy(header, 0);
  header.writeDoubleLE(position, 8);
  header.writeUInt32LE(crc32(header.subarray(0, 16)), 16);
  return header;
}

function section(kind: number, json: string): Buffer {
  const length = Buffer.byteLength(json, 'utf8');
  const bytes = Buffer.allocUnsafe(sectionHeaderBytes + length);
  bytes.writeUInt32LE(length, 0);
  bytes.writeUInt32LE(kind, 8);
  bytes.write(json, sectionHeaderBytes, length, 'utf8');
  bytes.writeUInt32LE(crc32(bytes.subarray(8)), 4);
  return bytes;
}

export type SnapshotReadResult = { readonly snapshot: Snapshot } | { readonly damaged: string };

/** Reads and verifies a snapshot file; damage of any kind is reported, never thrown. */
export async function readSnapshotFile(fileSystem: FileLogFileSystem, path: string): Promise<SnapshotReadResult> {
  const handle = await fileSystem.open(path, 'read');
  let bytes: Buffer;
  try {
    bytes = await readFully(handle, 0, await handle.size());
  } finally {
    await handle.close();
  }
  try {
    return decodeSnapshot(bytes);
  } catch (error) {
    // JSON that passed its checksum but does not parse means the writer was broken: still damage.
    return { damaged: error instanceof Error ? error.message : String(error) };
  }
}

function decodeSnapshot(bytes: Buffer): SnapshotReadResult {
  if (bytes.length < headerBytes || !bytes.subarray(0, 8).equals(snapshotMagic)) return { damaged: 'no snapshot header' };
  if (bytes.readUInt32LE(16) !== crc32(bytes.subarray(0, 16))) return { damaged: 'snapshot header checksum mismatch' };
  const position = bytes.readDoubleLE(8);
  const entities: EntityRow[] = [];
  const requests: RequestRow[] = [];
  let schemas: Snapshot['schemas'];
  let offset = headerBytes;
  while (offset + sectionHeaderBytes <= bytes.length) {
    const length = bytes.readUInt32LE(offset);
    const end = offset + sectionHeaderBytes + length;
    if (end > bytes.length) return { damaged: `section at byte ${offset} is incomplete` };
    if (bytes.readUInt32LE(offset + 4) !== crc32(bytes.subarray(offset + 8, end))) return { damaged: `section at byte ${offset} checksum mismatch` };
    const kind = bytes.readUInt32LE(offset + 8);
    const payload: unknown = JSON.parse(bytes.toString('utf8', offset + sectionHeaderBytes, end));
    if (kind === sectionEnd) return closeSnapshot({ position, entities, requests, schemas, payload, trailing: bytes.length - end });
    let added: boolean;
    if (kind === sectionSchemas) {
      added = schemas === undefined && isSchemas(payload);
      schemas = payload as Snapshot['schemas'];
    } else {
      added = kind === sectionEntities ? addEntityRows(entities, payload) : kind === sectionRequests ? addRequestRows(requests, payload) : false;
    }
    if (!added) return { damaged: `section at byte ${offset} has unexpected content` };
    offset = end;
  }
  return { damaged: 'the closing section is missing' };
}

function closeSnapshot(input: {
  position: number;
  entities: EntityRow[];
  requests: RequestRow[];
  schemas: Snapshot['schemas'];
  payload: unknown;
  trailing: number;
}): SnapshotReadResult {
  const counts = input.payload as { position?: unknown; entities?: unknown; requests?: unknown };
  const matches = counts.position === input.position && counts.entities === input.entities.length && counts.requests === input.requests.length;
  if (!matches || input.trailing !== 0) return { damaged: 'the closing section does not match the content' };
  const snapshot: Snapshot = { format: 1, position: input.position, entities: input.entities, requests: input.requests };
  return { snapshot: input.schemas === undefined ? snapshot : { ...snapshot, schemas: input.schemas } };
}

/** kind -> { version, fingerprint?, mark? }. */
function isSchemas(payload: unknown): boolean {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return false;
  return Object.values(payload).every((schema: unknown) => {
    const { version, fingerprint, mark } = (schema ?? {}) as { version?: unknown; fingerprint?: unknown; mark?: unknown };
    return typeof version === 'number' && (fingerprint === undefined || typeof fingerprint === 'string') && (mark === undefined || typeof mark === 'string');
  });
}

function addEntityRows(into: EntityRow[], payload: unknown): boolean {
  if (!Array.isArray(payload)) return false;
  for (const row of payload as unknown[]) {
    if (!isEntityRow(row)) return false;
    into.push(row);
  }
  return true;
}

function isEntityRow(row: unknown): row is EntityRow {
  // A fifth element is the row's own schema version (an entity of a kind without a type).
  if (!Array.isArray(row) || row.length < 4 || row.length > 5) return false;
  const [kind, id, version, data, schemaVersion] = row as unknown[];
  if (schemaVersion !== undefined && typeof schemaVersion !== 'number') return false;
  return typeof kind === 'string' && typeof id === 'string' && typeof version === 'number' && typeof data === 'object' && data !== null && !Array.isArray(data);
}

function addRequestRows(into: RequestRow[], payload: unknown): boolean {
  if (!Array.isArray(payload)) return false;
  for (const row of payload as unknown[]) {
    if (!Array.isArray(row) || (row.length !== 3 && row.length !== 4)) return false;
    const [requestId, position, txId, result] = row as [unknown, unknown, unknown, JsonValue | undefined];
    if (typeof requestId !== 'string' || typeof position !== 'number' || typeof txId !== 'string') return false;
    into.push(row.length === 3 ? [requestId, position, txId] : [requestId, position, txId, result as JsonValue]);
  }
  return true;
}

