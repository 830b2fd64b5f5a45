import { isOrdoError } from '@ordo/core';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder } from './frame-codec.js';

const limits = { store: 'test', frameBytesMax: 1024 };

describe('frame codec', () => {
  it('decodes frames split into single bytes, merged into one chunk, or cut anywhere', () => {
    const messages = [{ type: 'beat' }, { type: 'records', records: [{ text: 'ü€😀'.repeat(20) }] }, { n: 3 }];
    const bytes = Buffer.concat(messages.map((message) => encodeFrame(message, limits)));

    const merged = new FrameDecoder(limits);
    expect(merged.push(bytes)).toEqual(messages);
    expect(merged.pendingBytes).toBe(0);

    const bytewise = new FrameDecoder(limits);
    const decoded: unknown[] = [];
    for (let index = 0; index < bytes.length; index += 1) decoded.push(...bytewise.push(bytes.subarray(index, index + 1)));
    expect(decoded).toEqual(messages);

    for (let cut = 1; cut < bytes.length; cut += 7) {
      const decoder = new FrameDecoder(limits);
      expect([...decoder.push(bytes.subarray(0, cut)), ...decoder.push(bytes.subarray(cut))]).toEqual(messages);
    }
  });

  it('holds back a frame until its last byte arrives', () => {
    const frame = encodeFrame({ type: 'beat' }, limits);
    const decoder = new FrameDecoder(limits);
    expect(decoder.push(frame.subarray(0, frame.length - 1))).toEqual([]);
    expect(decoder.pendingBytes).toBe(frame.length - 1);
    expect(decoder.push(frame.subarray(frame.length - 1))).toEqual([{ type: 'beat' }]);
  });

  it('refuses to encode a frame larger than frameBytesMax: nothing is sent', () => {
    const error = catchError(() => encodeFrame({ blob: 'x'.repeat(2000) }, limits));
    expect(isOrdoError(error, 'LOG_STORE_FAILED') && error.outcome).toBe('not-written');
    expect((error as Error).message).toMatch(/more than frameBytesMax \(1024\)/);
  });

  it('refuses a frame announced larger than frameBytesMax from its header alone, and stays broken', () => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(64 * 1024 * 1024 + 1, 0);
    const decoder = new FrameDecoder(limits);
    const error = catchError(() => decoder.push(header));
    expect(isOrdoError(error, 'LOG_STORE_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(/refused a relay frame of 67108865 bytes/);
    expect(() => decoder.push(encodeFrame({ type: 'beat' }, limits))).toThrow(/broken/);
  });

  it('refuses a body that is not JSON', () => {
    const body = Buffer.from('{not json', 'utf8');
    const header = Buffer.alloc(4);
    header.writeUInt32BE(body.length, 0);
    const decoder = new FrameDecoder(limits);
    expect(() => decoder.push(Buffer.concat([header, body]))).toThrow(/relay frame of 9 bytes is not JSON/);
  });
});

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
