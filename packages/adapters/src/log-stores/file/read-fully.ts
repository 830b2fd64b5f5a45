import type { FileLogHandle } from './file-system.js';

// A read may return fewer bytes than asked; bound the loop so a misbehaving device cannot spin.
const shortReadsMax = 1024;

/**
 * Reads `length` bytes at `position` (fewer only at the end of the file) into a new buffer.
 * Returns the buffer trimmed to the bytes actually read.
 */
export async function readFully(handle: FileLogHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  const filled = await readInto(handle, { buffer, at: 0 }, position, length);
  return filled === length ? buffer : buffer.subarray(0, filled);
}

/** Reads `length` bytes at `position` into `target.buffer` from `target.at`; returns how many it read (fewer only at the end of the file). */
export async function readInto(handle: FileLogHandle, target: { readonly buffer: Buffer; readonly at: number }, position: number, length: number): Promise<number> {
  let filled = 0;
  for (let attempt = 0; filled < length; attempt += 1) {
    if (attempt >= shortReadsMax) throw new Error(`read made no progress after ${shortReadsMax} attempts`);
    const count = await handle.read(target.buffer, target.at + filled, length - filled, position + filled);
    if (count === 0) break;
    filled += count;
  }
  return filled;
}
