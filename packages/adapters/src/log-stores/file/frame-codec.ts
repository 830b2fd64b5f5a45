import { crc32 } from 'node:zlib';
import { checksum } from './checksum.js';

/**
 * The bytes of a segment file:
 *
 *   segment header (24 bytes): 'ORDOLOG1', first position (f64), crc32 of the 16 bytes before (u32), 4 zero bytes
 *   frame header (24 bytes):   crc32 (u32), payload length (u32), position (f64), batch first position (f64)
 *   frame payload:             the record as UTF-8 JSON
 *
 * The frame checksum covers everything after it (length, both positions, payload), so a frame
 * read back is exactly the frame written; putting it first makes it one contiguous crc32 call
 * per frame, which matters when a replay checks a million of them. `batchFirst` is the position of the first record of the write
 * (one `append`) that carried the frame: recovery uses it to tell a torn final write, which
 * may be cut, from damage to an earlier, acknowledged write, which must be refused.
 * Positions are stored as f64 because every position is a safe integer.
 */
export const segmentHeaderBytes = 24;
export const frameHeaderBytes = 24;
/** A record larger than this is refused on append and treated as damage on read. */
export const payloadBytesMax = 64 * 1024 * 1024;

const segmentMagic = Buffer.from('ORDOLOG1', 'latin1');

export function encodeSegmentHeader(firstPosition: number): Buffer {
  const header = Buffer.alloc(segmentHeaderBytes);
  segmentMagic.copy(header, 0);
  header.writeDoubleLE(firstPosition, 8);
  header.writeUInt32LE(crc32(header.subarray(0, 16)), 16);
  return header;
}

/** The first position a segment header names, or undefined when the header is not intact. */
export function decodeSegmentHeader(header: Uint8Array): number | undefined {
  if (header.length < segmentHeaderBytes) return undefined;
  const bytes = Buffer.from(header.buffer, header.byteOffset, segmentHeaderBytes);
  if (!bytes.subarray(0, 8).equals(segmentMagic)) return undefined;
  if (bytes.readUInt32LE(16) !== crc32(bytes.subarray(0, 16))) return undefined;
  const first = bytes.readDoubleLE(8);
  return Number.isSafeInteger(first) && first >= 1 ? first : undefined;
}

/**
 * Encodes records as consecutive frames in one buffer, so that one write carries the whole
 * batch. `payloads` are the records' JSON texts. The buffer is sized for the worst case (three
 * UTF-8 bytes per UTF-16 unit), so each payload is encoded once, straight into place.
 */
export function encodeFrames(payloads: readonly string[], firstPosition: number): EncodedFrames {
  const bound = payloads.reduce((sum, payload) => sum + frameHeaderBytes + payload.length * 3, 0);
  const buffer = Buffer.allocUnsafe(bound);
  let offset = 0;
  const frameStarts: number[] = [];
  payloads.forEach((payload, index) => {
    frameStarts.push(offset);
    const length = buffer.write(payload, offset + frameHeaderBytes, 'utf8');
    buffer.writeUInt32LE(length, offset + 4);
    buffer.writeDoubleLE(firstPosition + index, offset + 8);
    buffer.writeDoubleLE(firstPosition, offset + 16);
    const end = offset + frameHeaderBytes + length;
    buffer.writeUInt32LE(checksum(buffer, offset + 4, end), offset);
    offset = end;
  });
  return { bytes: buffer.subarray(0, offset), frameStarts };
}

export interface EncodedFrames {
  readonly bytes: Buffer;
  /** Where each frame starts inside `bytes`. */
  readonly frameStarts: readonly number[];
}

/** A frame that decoded intact: where its payload lies inside the buffer it came from. */
export interface IntactFrame {
  readonly status: 'intact';
  readonly position: number;
  readonly batchFirst: number;
  readonly payloadStart: number;
  readonly end: number;
}

/** The buffer ends inside the frame: read more bytes, or, at the end of the file, a torn write. */
export interface TruncatedFrame {
  readonly status: 'truncated';
  /** Bytes needed from the frame's start to hold it whole (the header alone when its length is unknown). */
  readonly needed: number;
}

export interface DamagedFrame {
  readonly status: 'damaged';
  readonly reason: string;
}

export type FrameInspection = IntactFrame | TruncatedFrame | DamagedFrame;

/**
 * Checks the frame that starts at `start` in `buffer[..end]`: length bounds, checksum, positions.
 * `verifyChecksum: false` skips the checksum, for bytes that were verified already.
 */
export function inspectFrame(buffer: Buffer, start: number, end: number, verifyChecksum = true): FrameInspection {
  if (end - start < frameHeaderBytes) return { status: 'truncated', needed: frameHeaderBytes };
  const length = buffer.readUInt32LE(start + 4);
  if (length > payloadBytesMax) return { status: 'damaged', reason: `frame length ${length} exceeds ${payloadBytesMax}` };
  const frameEnd = start + frameHeaderBytes + length;
  if (frameEnd > end) return { status: 'truncated', needed: frameHeaderBytes + length };
  if (verifyChecksum && buffer.readUInt32LE(start) !== checksum(buffer, start + 4, frameEnd)) {
    return { status: 'damaged', reason: 'frame checksum mismatch' };
  }
  const position = buffer.readDoubleLE(start + 8);
  const batchFirst = buffer.readDoubleLE(start + 16);
  if (!Number.isSafeInteger(position) || !Number.isSafeInteger(batchFirst) || batchFirst > position || batchFirst < 1) {
    return { status: 'damaged', reason: 'frame positions are not valid' };
  }
  return { status: 'intact', position, batchFirst, payloadStart: start + frameHeaderBytes, end: frameEnd };
}

/**
 * Where the frame at `start` ends, for bytes the scan at open checked already (whole frames,
 * intact, consecutive): only its length is read. Undefined at the end of the bytes.
 */
export function verifiedFrameEnd(buffer: Buffer, start: number): number | undefined {
  if (start >= buffer.length) return undefined;
  return start + frameHeaderBytes + buffer.readUInt32LE(start + 4);
}
