import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { checksum } from './checksum.js';

describe('checksum', () => {
  it('equals zlib crc32 for every length from 0 to 600 and any start', () => {
    const bytes = Buffer.alloc(1024);
    for (let index = 0; index < bytes.length; index += 1) bytes[index] = (index * 7919 + 13) & 0xff;
    for (let length = 0; length <= 600; length += 1) {
      const start = length % 13;
      expect(checksum(bytes, start, start + length), `length ${length}`).toBe(crc32(bytes.subarray(start, start + length)));
    }
  });

  it('gives the known CRC-32 check value', () => {
    expect(checksum(Buffer.from('123456789'), 0, 9)).toBe(0xcbf43926);
  });
});
