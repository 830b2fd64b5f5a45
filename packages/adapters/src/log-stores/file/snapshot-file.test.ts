import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Snapshot } from '@ordo/core';
import { nodeFileSystem } from './file-system.js';
import { readSnapshotFile, snapshotRowsPerSection, writeSnapshotFile } from './snapshot-file.js';

const dir = mkdtempSync(join(tmpdir(), 'ordo-snapshot-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function snapshotOf(count: number): Snapshot {
  return {
    format: 1,
    position: count + 5,
    entities: Array.from({ length: count }, (_, index) => ['vm', `id-${index}`, index + 1, { name: `vm ${index} ☃`, n: index / 3 }] as const),
    requests: [['r-1', 2, 'tx-2', { ok: true }], ['r-2', 3, 'tx-3'], ['r-3', 4, 'tx-4', null]],
  };
}

describe('snapshot file', () => {
  it('reads back exactly what was written, across several sections', async () => {
    const path = join(dir, 'round-trip.snap');
    const snapshot = snapshotOf(snapshotRowsPerSection * 2 + 17);
    await writeSnapshotFile(nodeFileSystem, path, snapshot, true);
    expect(await readSnapshotFile(nodeFileSystem, path)).toEqual({ snapshot });
  });

  it('keeps the schema version per kind and the rows that carry their own', async () => {
    const path = join(dir, 'schemas.snap');
    const snapshot: Snapshot = {
      format: 1,
      position: 4,
      entities: [['vm', 'a', 2, { name: 'a' }], ['disk', 'b', 1, { size: 1 }, 3]],
      requests: [],
      schemas: { vm: { version: 2, fingerprint: '2:00c0ffee', mark: '2:00c0ffee' }, disk: { version: 1 } },
    };
    await writeSnapshotFile(nodeFileSystem, path, snapshot, false);
    expect(await readSnapshotFile(nodeFileSystem, path)).toEqual({ snapshot });
  });

  it('keeps an empty state', async () => {
    const path = join(dir, 'empty.snap');
    const snapshot: Snapshot = { format: 1, position: 0, entities: [], requests: [] };
    await writeSnapshotFile(nodeFileSystem, path, snapshot, false);
    expect(await readSnapshotFile(nodeFileSystem, path)).toEqual({ snapshot });
  });

  it('reports a flipped byte, a cut file and trailing bytes as damage', async () => {
    const path = join(dir, 'damaged.snap');
    await writeSnapshotFile(nodeFileSystem, path, snapshotOf(100), true);
    const bytes = readFileSync(path);
    const flipped = Buffer.from(bytes);
    flipped[Math.floor(bytes.length / 2)] = (flipped[Math.floor(bytes.length / 2)] ?? 0) ^ 0x04;
    const cases = { flipped, cut: bytes.subarray(0, bytes.length - 3), trailing: Buffer.concat([bytes, Buffer.from('x')]), empty: Buffer.alloc(0) };
    for (const [name, content] of Object.entries(cases)) {
      writeFileSync(path, content);
      const read = await readSnapshotFile(nodeFileSystem, path);
      expect('damaged' in read, name).toBe(true);
    }
  });
});
