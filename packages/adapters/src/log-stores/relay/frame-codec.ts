import { InternalError, LogStoreError } from '@ordo/core';

/**
 * The largest frame a relay sends or accepts. A batch of records or commits past it is split
 * or refused; a peer announcing more is cut off before anything of it is buffered, so a
 * corrupt or hostile length cannot make this process allocate gigabytes.
 */
export const frameBytesMaxDefault = 64 * 1024 * 1024;

const headerBytes = 4;

export interface FrameLimits {
  /** The log store's name, for errors. */
  readonly store: string;
  readonly frameBytesMax: number;
}

/**
 * Encodes one message as a frame: its JSON in UTF-8, after its byte length as a 32-bit
 * big-endian integer. Throws `LogStoreError` ('not-written': nothing was sent) when the frame
 * would be larger than `frameBytesMax`.
 */
export function encodeFrame(message: unknown, limits: FrameLimits): Buffer {
  const json = JSON.stringify(message);
  const bodyBytes = Buffer.byteLength(json, 'utf8');
  if (bodyBytes > limits.frameBytesMax) throw frameTooLarge(limits, bodyBytes, 'send');
  const frame = Buffer.allocUnsafe(headerBytes + bodyBytes);
  frame.writeUInt32BE(bodyBytes, 0);
  frame.write(json, headerBytes, 'utf8');
  return frame;
}

/**
 * Cuts a byte stream into the messages of its frames, whatever the chunks it arrives in: a
 * frame split over many chunks, or many frames in one. Throws `LogStoreError` on a frame
 * announced larger than `frameBytesMax` or a body that is not JSON; the stream is unusable
 * after that (the caller closes the connection).
 */
export class FrameDecoder {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  /** The body length of the frame being read, once its header arrived. */
  private bodyBytes: number | undefined;
  private broken = false;

  constructor(private readonly limits: FrameLimits) {}

  /** Bytes received that do not make a whole frame yet. */
  get pendingBytes(): number {
    return this.buffered + (this.bodyBytes === undefined ? 0 : headerBytes);
  }

  /** Takes the next chunk; returns the messages of the frames it completed, in order. */
  push(chunk: Buffer): unknown[] {
    if (this.broken) throw new LogStoreError({ store: this.limits.store, message: 'relay frame stream is broken; the connection must close', outcome: 'unknown' });
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const messages: unknown[] = [];
    for (;;) {
      if (this.bodyBytes === undefined) {
        if (this.buffered < headerBytes) break;
        const length = this.take(headerBytes).readUInt32BE(0);
        if (length > this.limits.frameBytesMax) {
          this.broken = true;
          throw frameTooLarge(this.limits, length, 'receive');
        }
        this.bodyBytes = length;
      }
      if (this.buffered < this.bodyBytes) break;
      const body = this.take(this.bodyBytes);
      this.bodyBytes = undefined;
      messages.push(this.parse(body));
    }
    return messages;
  }

  private parse(body: Buffer): unknown {
    try {
      return JSON.parse(body.toString('utf8')) as unknown;
    } catch (error) {
      this.broken = true;
      throw new LogStoreError({ store: this.limits.store, message: `relay frame of ${body.length} bytes is not JSON`, cause: error, outcome: 'unknown' });
    }
  }

  /** Removes the first `bytes` buffered bytes (there are at least that many) and returns them. */
  private take(bytes: number): Buffer {
    this.buffered -= bytes;
    const first = this.chunks[0];
    if (first !== undefined && first.length >= bytes) {
      if (first.length === bytes) this.chunks.shift();
      else this.chunks[0] = first.subarray(bytes);
      return first.subarray(0, bytes);
    }
    // The bytes span several chunks: copy them once, into a buffer of the right size.
    const out = Buffer.allocUnsafe(bytes);
    let filled = 0;
    while (filled < bytes) {
      const chunk = this.chunks[0];
      if (chunk === undefined) throw new InternalError('relay frame decoder counted more bytes than it holds');
      const used = Math.min(chunk.length, bytes - filled);
      chunk.copy(out, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    return out;
  }
}

function frameTooLarge(limits: FrameLimits, bytes: number, direction: 'send' | 'receive'): LogStoreError {
  const what = direction === 'send' ? 'cannot send a relay frame' : 'refused a relay frame';
  return new LogStoreError({
    store: limits.store,
    message: `${what} of ${bytes} bytes: more than frameBytesMax (${limits.frameBytesMax})`,
    outcome: direction === 'send' ? 'not-written' : 'unknown',
  });
}
