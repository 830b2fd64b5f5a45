import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChunkSource } from './chunk-source.js';
import { nodeFileSystem, type FileLogHandle } from './file-system.js';

const root = mkdtempSync(join(tmpdir(), 'ordo-chunk-source-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function fileOf(bytes: Buffer, name: string): Promise<FileLogHandle> {
  const path = join(root, name);
  writeFileSync(path, bytes);
  return nodeFileSystem.open(path, 'read');
}

describe('chunk source', () => {
  it('returns the bytes at each offset asked, joining the end of a chunk to the bytes read ahead', async () => {
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, index) => (index * 7 + (index >> 8)) & 0xff));
    const handle = await fileOf(bytes, 'walk.bin');
    const source = new ChunkSource(handle, bytes.length, 10_000);
    // Walk like a frame reader: ask again a little before the end of each chunk.
    let offset = 0;
    let calls = 0;
    while (offset < bytes.length) {
      const chunk = await source.at(offset, 1);
      expect(chunk.equals(bytes.subarray(offset, offset + chunk.length)), `chunk at ${offset}`).toBe(true);
      const carried = (calls * 37) % 500;
      offset = Math.max(offset + 1, offset + chunk.length - carried);
      calls += 1;
    }
    await source.settle();
    await handle.close();
    expect(calls).toBeGreaterThan(30);
  });

  it('reads a piece larger than a chunk whole, and never past the end it was given', async () => {
    const bytes = Buffer.from(Array.from({ length: 50_000 }, (_, index) => index & 0xff));
    const handle = await fileOf(bytes, 'large.bin');
    const source = new ChunkSource(handle, 40_000, 4_096);
    const first = await source.at(0, 1);
    expect(first.length).toBe(4_096);
    const large = await source.at(4_000, 20_000);
    expect(large.equals(bytes.subarray(4_000, 24_000))).toBe(true);
    const last = await source.at(39_000, 5_000);
    expect(last.equals(bytes.subarray(39_000, 40_000))).toBe(true);
    // Far back: a fresh read, not the read-ahead.
    expect((await source.at(10, 5)).equals(bytes.subarray(10, 10 + 4_096))).toBe(true);
    await source.settle();
    await handle.close();
  });

  it('reports a failed read-ahead to the caller that needs its bytes', async () => {
    const bytes = Buffer.alloc(20_000, 3);
    const real = await fileOf(bytes, 'failing.bin');
    let reads = 0;
    const failing: FileLogHandle = {
      ...real,
      read: (buffer, offset, length, position) => (++reads === 2 ? Promise.reject(new Error('EIO: injected')) : real.read(buffer, offset, length, position)),
    };
    const source = new ChunkSource(failing, bytes.length, 8_192);
    await source.at(0, 1);
    await expect(source.at(8_000, 1)).rejects.toThrow('EIO: injected');
    await source.settle();
    await real.close();
  });
});
