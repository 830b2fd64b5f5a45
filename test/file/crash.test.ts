import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileChildProcess } from './child-process.js';
import { openFileStore, readAll, rebuiltDump, seededRandom } from './model.js';

const roundsCount = 20;
// After the child reports ready, it commits for a random time up to this before SIGKILL.
const killDelayMsMax = 300;

const dir = mkdtempSync(join(tmpdir(), 'ordo-file-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('file log: crash safety with SIGKILL', () => {
  it(`keeps every acknowledged record over ${roundsCount} killed writers, gapless, with state equal to a rebuild`, async () => {
    const baseSeed = Number(process.env.ORDO_CRASH_SEED ?? Date.now() % 1_000_000_000);
    const random = seededRandom(baseSeed);
    const acknowledged = new Map<number, string>();
    let totalAcks = 0;
    for (let round = 1; round <= roundsCount; round += 1) {
      const seed = baseSeed + round;
      const context = `round ${round}, seed ${seed} (rerun with ORDO_CRASH_SEED=${baseSeed})`;
      console.log(`crash ${context}`);
      const child = new FileChildProcess('./crash-child.ts', [dir, String(seed)]);
      await child.waitFor((event) => event.event === 'ready');
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * killDelayMsMax)));
      await child.kill();
      const failed = child.events.find((event) => event.event === 'error');
      expect(failed, context).toBeUndefined();
      for (const event of child.events.filter((candidate) => candidate.event === 'ack')) {
        const position = event.position as number;
        const txId = event.txId as string;
        // A position acknowledged in an earlier round must never be given to another transaction.
        expect(acknowledged.get(position) ?? txId, `${context}: position ${position}`).toBe(txId);
        acknowledged.set(position, txId);
        totalAcks += 1;
      }
      await checkRecovered(acknowledged, context);
    }
    console.log(`crash test: ${totalAcks} acknowledged records, ${acknowledged.size} positions checked`);
    expect(totalAcks).toBeGreaterThan(roundsCount);
    // About 15 s on the 2-core machine; the margin is for a machine busy with other suites.
  }, 120_000);
});

async function checkRecovered(acknowledged: ReadonlyMap<number, string>, context: string): Promise<void> {
  const store = await openFileStore({ dir });
  try {
    const records = await readAll(store);
    expect(records.length, context).toBe(store.position);
    for (const [position, txId] of acknowledged) {
      expect(records[position - 1]?.txId, `${context}: acknowledged record ${position}`).toBe(txId);
    }
    // The store opened from its newest snapshot plus the records after it; a rebuild folds every record.
    expect(store.dump(), context).toEqual(await rebuiltDump(records));
  } finally {
    await store.close();
  }
}
