import { LogCorruptError } from '@ordo/core';
import type { FileLogFileSystem, FileLogHandle } from './file-system.js';
import { decodeSegmentHeader, frameHeaderBytes, inspectFrame, payloadBytesMax, segmentHeaderBytes } from './frame-codec.js';
import { ChunkSource } from './chunk-source.js';
import { readFully } from './read-fully.js';
import { emptySegment, noteFrame, type Segment } from './segment.js';
import type { VerifiedChunks } from './verified-chunks.js';

// Compare a tail against zeros in pieces of this size (memcmp speed, small buffer).
const zeroCompareBytes = 64 * 1024;
// How far past the damaged record a damaged header's position may lie and still count as a
// later write: a segment holds far fewer records than this.
const laterWriteSpanMax = 100_000_000;

export interface ScanInput {
  readonly fileSystem: FileLogFileSystem;
  readonly name: string;
  readonly path: string;
  /** The first position the file name carries. */
  readonly firstPosition: number;
  /** Only the last segment may end in a torn write: earlier ones were fsynced before the next was created. */
  readonly isLast: boolean;
  readonly chunkBytes: number;
  /** Receives the bytes of the frames found intact, for reads right after the scan. */
  readonly keep?: VerifiedChunks;
}

/** A torn final write: the bytes from `offset` to the end of the file, damaged as `reason` says. */
export interface TornWrite {
  readonly offset: number;
  readonly reason: string;
}

export interface ScanResult {
  readonly segment: Segment;
  /** Set when the segment ends in a torn final write that may be cut. */
  readonly torn?: TornWrite;
}

/**
 * Verifies every frame of a segment (length, checksum, gapless positions, batch markers) with
 * large sequential reads and builds its sparse index. Damage in the last segment is a torn
 * tail when no intact frame of a later write follows it (that write could only have started
 * after the damaged one was fsynced, so the damaged one was acknowledged); any other damage
 * throws `LogCorruptError` with the file and byte offset.
 */
export async function scanSegment(input: ScanInput): Promise<ScanResult> {
  const handle = await input.fileSystem.open(input.path, 'read');
  try {
    return await scanOpenSegment(handle, input);
  } finally {
    await handle.close();
  }
}

async function scanOpenSegment(handle: FileLogHandle, input: ScanInput): Promise<ScanResult> {
  const fileBytes = await handle.size();
  const segment = emptySegment({ name: input.name, path: input.path, firstPosition: input.firstPosition, endOffset: 0 });
  const headerFirst = decodeSegmentHeader(await readFully(handle, 0, segmentHeaderBytes));
  if (headerFirst === undefined) return judgeDamage(handle, input, { segment, fileBytes, offset: 0, reason: 'the segment header is damaged or incomplete' });
  if (headerFirst !== input.firstPosition) {
    throw corrupt(input.path, 0, `the segment header names position ${headerFirst}, the file name ${input.firstPosition}`);
  }
  segment.endOffset = segmentHeaderBytes;
  const damage = await scanFrames(handle, { segment, fileBytes, chunkBytes: input.chunkBytes, batchFirst: 0, keep: input.keep });
  return damage === undefined ? { segment } : judgeDamage(handle, input, { segment, fileBytes, ...damage });
}

/**
 * Follows a segment that another process is still writing (a read-only log): notes the intact
 * frames after `segment.endOffset` and stops at the first frame that is not (yet) whole.
 */
export async function extendSegment(fileSystem: FileLogFileSystem, segment: Segment, chunkBytes: number): Promise<void> {
  const handle = await fileSystem.open(segment.path, 'read');
  try {
    const fileBytes = await handle.size();
    // The first new frame may continue a write whose start was seen earlier: any batch start is accepted.
    if (fileBytes > segment.endOffset) await scanFrames(handle, { segment, fileBytes, chunkBytes, batchFirst: undefined });
  } finally {
    await handle.close();
  }
}

interface FrameScan {
  readonly segment: Segment;
  readonly fileBytes: number;
  readonly chunkBytes: number;
  /** The write the frame before `segment.endOffset` belongs to: 0 when a new write must start there, undefined when unknown. */
  readonly batchFirst: number | undefined;
  readonly keep?: VerifiedChunks | undefined;
}

/** Checks frames from `segment.endOffset` on and adds them to the segment; returns the first damage, if any. */
async function scanFrames(handle: FileLogHandle, scan: FrameScan): Promise<{ offset: number; reason: string } | undefined> {
  const source = new ChunkSource(handle, scan.fileBytes, scan.chunkBytes);
  try {
    return await checkFrames(source, scan);
  } finally {
    await source.settle();
  }
}

async function checkFrames(source: ChunkSource, scan: FrameScan): Promise<{ offset: number; reason: string } | undefined> {
  const { segment, fileBytes } = scan;
  let chunkStart = segment.endOffset;
  let chunk = await source.at(chunkStart, 0);
  // Hands the frames found intact in this chunk to `keep`, before moving on.
  const keep = (): void =>
    scan.keep?.add({ path: segment.path, start: chunkStart, bytes: chunk.subarray(0, segment.endOffset - chunkStart), lastPosition: segment.lastPosition });
  let batchFirst = scan.batchFirst;
  while (segment.endOffset < fileBytes) {
    const offset = segment.endOffset;
    const frame = inspectFrame(chunk, offset - chunkStart, chunk.length);
    if (frame.status === 'truncated') {
      keep();
      if (offset + frame.needed > fileBytes) return { offset, reason: 'the last frame is incomplete' };
      chunkStart = offset;
      chunk = await source.at(offset, frame.needed);
      continue;
    }
    if (frame.status === 'damaged') {
      keep();
      return { offset, reason: frame.reason };
    }
    const expected = segment.lastPosition + 1;
    if (frame.position !== expected) {
      throw corrupt(segment.path, offset, `found position ${frame.position} where ${expected} belongs (a gap or a repeat)`);
    }
    if (batchFirst !== undefined && frame.batchFirst !== frame.position && frame.batchFirst !== batchFirst) {
      throw corrupt(segment.path, offset, `record ${frame.position} names a write that started at ${frame.batchFirst}`);
    }
    batchFirst = frame.batchFirst;
    noteFrame(segment, frame.position, offset);
    segment.lastPosition = frame.position;
    segment.endOffset = chunkStart + frame.end;
  }
  keep();
  return undefined;
}

interface Damage {
  readonly segment: Segment;
  readonly offset: number;
  readonly reason: string;
  readonly fileBytes: number;
}

async function judgeDamage(handle: FileLogHandle, input: ScanInput, damage: Damage): Promise<ScanResult> {
  const rest = await readFully(handle, damage.offset, damage.fileBytes - damage.offset);
  // Zeros from here to the end are preallocated room that no write reached: the clean end.
  if (damage.offset >= segmentHeaderBytes && isAllZero(rest)) return { segment: damage.segment };
  if (!input.isLast) throw corrupt(input.path, damage.offset, `${damage.reason} in a segment that is not the last`);
  const later = findLaterWrite(rest, damage.segment.lastPosition + 1);
  if (later !== undefined) {
    const at = damage.offset + later;
    throw corrupt(input.path, damage.offset, `${damage.reason}, and an acknowledged later write follows at byte ${at}`);
  }
  return { segment: damage.segment, torn: { offset: damage.offset, reason: damage.reason } };
}

/**
 * Looks at every byte offset after the damaged frame for the header of a frame written by a
 * later append than the one holding record `expected` (its write started after `expected`).
 * That later write began only after the damaged one was fsynced, so the damage is not a torn
 * tail. A header counts even when its frame fails the checksum (damage may reach into it, as
 * zeros over several frames do): its position fields must be safe integers just above
 * `expected` and its length possible. Payloads are JSON text, whose bytes never read as such
 * doubles, and a torn write's own frames all name `expected` as their write's start.
 */
function findLaterWrite(bytes: Buffer, expected: number): number | undefined {
  for (let start = 1; start + frameHeaderBytes <= bytes.length; start += 1) {
    const batchFirst = bytes.readDoubleLE(start + 16);
    if (!(batchFirst > expected) || !Number.isSafeInteger(batchFirst)) continue;
    const position = bytes.readDoubleLE(start + 8);
    if (!(position >= batchFirst) || !Number.isSafeInteger(position)) continue;
    if (inspectFrame(bytes, start, bytes.length).status === 'intact') return start;
    const plausible = position - expected <= laterWriteSpanMax && bytes.readUInt32LE(start + 4) <= payloadBytesMax;
    if (plausible) return start;
  }
  return undefined;
}

function isAllZero(bytes: Buffer): boolean {
  const zeros = Buffer.alloc(Math.min(bytes.length, zeroCompareBytes));
  for (let start = 0; start < bytes.length; start += zeros.length) {
    const piece = bytes.subarray(start, start + zeros.length);
    if (!piece.equals(zeros.subarray(0, piece.length))) return false;
  }
  return true;
}

function corrupt(file: string, offset: number, reason: string): LogCorruptError {
  return new LogCorruptError({ store: 'file', location: file, offset, reason });
}
