import { describe, expect, it } from 'vitest';
import { decodeSegmentHeader, encodeFrames, encodeSegmentHeader, frameHeaderBytes, inspectFrame, segmentHeaderBytes } from './frame-codec.js';

const payloads = ['{"a":1}', '{"b":"ü🚀"}', '{}'];

describe('frame codec', () => {
  it('encodes frames that inspect as intact, in order, with their positions and batch start', () => {
    const { bytes, frameStarts } = encodeFrames(payloads, 7);
    let offset = 0;
    payloads.forEach((payload, index) => {
      expect(frameStarts[index]).toBe(offset);
      const frame = inspectFrame(bytes, offset, bytes.length);
      if (frame.status !== 'intact') throw new Error(`frame ${index} is ${frame.status}`);
      expect(frame.position).toBe(7 + index);
      expect(frame.batchFirst).toBe(7);
      expect(bytes.toString('utf8', frame.payloadStart, frame.end)).toBe(payload);
      offset = frame.end;
    });
    expect(offset).toBe(bytes.length);
  });

  it('encodes a segment header that reads its first position back, and detects its damage', () => {
    const header = encodeSegmentHeader(12);
    expect(header.length).toBe(segmentHeaderBytes);
    expect(decodeSegmentHeader(header)).toBe(12);
    const damaged = Buffer.from(header);
    damaged[9] = (damaged[9] ?? 0) ^ 0x01;
    expect(decodeSegmentHeader(damaged)).toBeUndefined();
  });

  it('reports a flipped bit anywhere in a frame as damage', () => {
    const { bytes } = encodeFrames(['{"value":"some payload"}'], 3);
    for (let index = 0; index < bytes.length; index += 1) {
      const copy = Buffer.from(bytes);
      copy[index] = (copy[index] ?? 0) ^ 0x10;
      expect(inspectFrame(copy, 0, copy.length).status, `byte ${index}`).not.toBe('intact');
    }
  });

  it('reports a frame cut short as truncated, with the bytes it needs', () => {
    const { bytes } = encodeFrames(['{"value":"payload"}'], 1);
    expect(inspectFrame(bytes, 0, 10)).toEqual({ status: 'truncated', needed: frameHeaderBytes });
    expect(inspectFrame(bytes, 0, bytes.length - 1)).toEqual({ status: 'truncated', needed: bytes.length });
  });
});
