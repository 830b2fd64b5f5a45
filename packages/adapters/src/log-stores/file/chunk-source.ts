import type { FileLogHandle } from './file-system.js';
import { readFully, readInto } from './read-fully.js';

// Room before each read-ahead chunk for the end of the chunk before it (a frame cut in two by
// the chunk boundary), so that joining them copies the small piece, not the large chunk.
const carryBytesMax = 64 * 1024;

type Settled = { readonly bytes: Buffer } | { readonly bytes?: undefined; readonly error: unknown };

interface ReadAhead {
  /** File offset of the first byte read ahead. */
  readonly start: number;
  /** A buffer with `carryBytesMax` free bytes in front of the bytes read, once they are in. */
  readonly settled: Promise<Settled>;
}

/**
 * Reads a file front to back in large chunks, with the read of the next chunk in flight while
 * the caller works on the current one: the copy from the page cache then runs on libuv's thread
 * pool, beside the checksums and decoding on the main thread, instead of between them.
 *
 * `at(offset, minimum)` returns bytes that start at `offset`; a caller walking frames asks for
 * the next chunk at the first frame that did not fit in the current one, and gets the end of
 * the current chunk joined to the bytes read ahead.
 */
export class ChunkSource {
  private current: { readonly start: number; readonly bytes: Buffer } | undefined;
  private ahead: ReadAhead | undefined;

  constructor(
    private readonly handle: FileLogHandle,
    /** Bytes after this offset are never read. */
    private readonly end: number,
    private readonly chunkBytes: number,
  ) {}

  /** Bytes from `offset`: at least `minimum` of them, fewer only where the range ends. */
  async at(offset: number, minimum: number): Promise<Buffer> {
    const joined = await this.fromReadAhead(offset, minimum);
    const bytes = joined ?? (await readFully(this.handle, offset, Math.min(Math.max(this.chunkBytes, minimum), this.end - offset)));
    this.current = { start: offset, bytes };
    this.readAhead(offset + bytes.length);
    return bytes;
  }

  /** Waits for the read in flight, so that the handle can be closed. */
  async settle(): Promise<void> {
    const ahead = this.ahead;
    this.ahead = undefined;
    this.current = undefined;
    if (ahead !== undefined) await ahead.settled;
  }

  private async fromReadAhead(offset: number, minimum: number): Promise<Buffer | undefined> {
    const { ahead, current } = this;
    this.ahead = undefined;
    if (ahead === undefined) return undefined;
    const settled = await ahead.settled;
    if (current === undefined || offset < current.start || offset > ahead.start) return undefined;
    const { bytes } = settled;
    if (bytes === undefined) throw settled.error;
    const carry = ahead.start - offset;
    const available = bytes.length - carryBytesMax;
    if (carry > carryBytesMax || carry + available < Math.min(minimum, this.end - offset)) return undefined;
    current.bytes.copy(bytes, carryBytesMax - carry, offset - current.start);
    return bytes.subarray(carryBytesMax - carry);
  }

  private readAhead(start: number): void {
    if (start >= this.end) return;
    const length = Math.min(this.chunkBytes, this.end - start);
    const buffer = Buffer.allocUnsafe(carryBytesMax + length);
    const settled = readInto(this.handle, { buffer, at: carryBytesMax }, start, length).then(
      (count): Settled => ({ bytes: buffer.subarray(0, carryBytesMax + count) }),
      (error: unknown): Settled => ({ error }),
    );
    this.ahead = { start, settled };
  }
}
