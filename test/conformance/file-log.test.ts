import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { fileLog } from '@ordo/adapters/file';
import { describeLogStoreConformance } from './log-store-conformance.js';

const root = mkdtempSync(join(tmpdir(), 'ordo-file-conformance-'));
let count = 0;
let current: string | undefined;

afterAll(() => rmSync(root, { recursive: true, force: true }));

// Real files with real fdatasync: the conformance suite checks what users get by default.
describeLogStoreConformance('file', {
  fresh: async () => {
    count += 1;
    current = join(root, `log-${count}`);
    return fileLog({ dir: current, durability: 'fsync' });
  },
  reopen: async () => {
    if (current === undefined) throw new Error('fresh() first');
    return fileLog({ dir: current, durability: 'fsync' });
  },
  readOnly: async () => {
    if (current === undefined) throw new Error('fresh() first');
    return fileLog({ dir: current, readOnly: true });
  },
  // Small segments, so that a snapshot leaves whole segments behind it to prune.
  pruning: async () => {
    count += 1;
    current = join(root, `log-${count}`);
    return fileLog({ dir: current, durability: 'fsync', segmentBytesMax: 4096, pruneSegments: true, snapshotsKept: 1 });
  },
});
