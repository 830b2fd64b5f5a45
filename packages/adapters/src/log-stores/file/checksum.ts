import { crc32 } from 'node:zlib';

/**
 * CRC-32 (the zlib polynomial) of `bytes[start..end)`. Node's `zlib.crc32` runs at several
 * GB/s, but each call costs about 190 ns of binding overhead, which is most of the cost for
 * a 100-byte frame. Below `nativeBytesMin` a table-driven JavaScript version (slice-by-16:
 * about 130 ns per frame of the replay benchmark, 130 bytes, on the development machine, and
 * 15% faster than slice-by-8) is used instead; both give the same value.
 */
const nativeBytesMin = 256;
const table = buildTable();

export function checksum(bytes: Uint8Array, start: number, end: number): number {
  if (end - start >= nativeBytesMin) return crc32(bytes.subarray(start, end));
  return checksumSmall(bytes, start, end);
}

function checksumSmall(bytes: Uint8Array, start: number, end: number): number {
  let crc = -1;
  let index = start;
  for (; index + 16 <= end; index += 16) {
    crc ^= bytes[index]! | (bytes[index + 1]! << 8) | (bytes[index + 2]! << 16) | (bytes[index + 3]! << 24);
    crc =
      table[3840 + (crc & 0xff)]! ^
      table[3584 + ((crc >>> 8) & 0xff)]! ^
      table[3328 + ((crc >>> 16) & 0xff)]! ^
      table[3072 + (crc >>> 24)]! ^
      table[2816 + bytes[index + 4]!]! ^
      table[2560 + bytes[index + 5]!]! ^
      table[2304 + bytes[index + 6]!]! ^
      table[2048 + bytes[index + 7]!]! ^
      table[1792 + bytes[index + 8]!]! ^
      table[1536 + bytes[index + 9]!]! ^
      table[1280 + bytes[index + 10]!]! ^
      table[1024 + bytes[index + 11]!]! ^
      table[768 + bytes[index + 12]!]! ^
      table[512 + bytes[index + 13]!]! ^
      table[256 + bytes[index + 14]!]! ^
      table[bytes[index + 15]!]!;
  }
  for (; index < end; index += 1) crc = table[(crc ^ bytes[index]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/** Sixteen 256-entry tables: table k advances the CRC over a byte followed by k zero bytes. */
function buildTable(): Int32Array {
  const slices = 16;
  const result = new Int32Array(256 * slices);
  for (let byte = 0; byte < 256; byte += 1) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
    result[byte] = crc;
  }
  for (let byte = 0; byte < 256; byte += 1) {
    let crc = result[byte]!;
    for (let slice = 1; slice < slices; slice += 1) {
      crc = result[crc & 0xff]! ^ (crc >>> 8);
      result[slice * 256 + byte] = crc;
    }
  }
  return result;
}
