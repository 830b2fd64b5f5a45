import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isOrdoError, type LogCorruptError, type Store } from '@ordo/core';
import { Account, Note, openFileStore, readAll, rebuiltDump, seededRandom } from './model.js';

const root = mkdtempSync(join(tmpdir(), 'ordo-file-recovery-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;

function freshDir(): string {
  dirCount += 1;
  return join(root, `store-${dirCount}`);
}

/** Commits `count` transactions of creates, updates and deletes, chosen by a seeded random source. */
async function commitMix(store: Store, count: number, seed: number): Promise<void> {
  const random = seededRandom(seed);
  for (let index = 0; index < count; index += 1) {
    const accounts = store.list(Account);
    const target = accounts[Math.floor(random() * accounts.length)];
    await store.transact((tx) => {
      if (target === undefined || random() < 0.4) {
        const account = tx.create(Account, { name: `a-${seed}-${index}`, group: `g${index % 3}`, balance: 0 });
        tx.create(Note, { text: `hello ${index}`, accountId: account.id });
      } else if (random() < 0.8) {
        tx.update(Account, target.id, (draft) => void (draft.balance += index));
      } else {
        for (const note of tx.find(Note, { accountId: target.id })) tx.delete(Note, note.id);
        tx.delete(Account, target.id);
      }
    }, index % 7 === 0 ? { requestId: `r-${seed}-${index}` } : {});
  }
}

function segmentPaths(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith('.seg')).sort().map((name) => join(dir, name));
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('file log under a store: recovery', () => {
  it('cuts a torn tail and reopens at the last acknowledged record with the same state', async () => {
    const dir = freshDir();
    const store = await openFileStore({ dir });
    await commitMix(store, 40, 1);
    const before = store.dump();
    await store.close();
    const last = segmentPaths(dir).at(-1)!;
    appendFileSync(last, Buffer.from('{"half a frame', 'utf8'));
    const again = await openFileStore({ dir });
    expect(again.position).toBe(before.position);
    expect(again.dump()).toEqual(before);
    await commitMix(again, 5, 2);
    expect(again.position).toBe(before.position + 5);
    await again.close();
  });

  it('refuses a flipped byte in the middle of a segment, naming the file and offset', async () => {
    const dir = freshDir();
    const store = await openFileStore({ dir });
    await commitMix(store, 60, 3);
    await store.close();
    const path = segmentPaths(dir)[0]!;
    const bytes = readFileSync(path);
    // The middle of the records, not of the file: past them lie preallocated zeros.
    let dataEnd = bytes.length;
    while (dataEnd > 0 && bytes[dataEnd - 1] === 0) dataEnd -= 1;
    const middle = Math.floor(dataEnd / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0x20;
    writeFileSync(path, bytes);
    const error = await failureOf(openFileStore({ dir }));
    expect(isOrdoError(error, 'LOG_CORRUPT'), String(error)).toBe(true);
    expect((error as LogCorruptError).location).toBe(path);
    expect((error as LogCorruptError).offset).toBeLessThanOrEqual(middle);
    expect((error as LogCorruptError).message).toContain(path);
  });

  it('falls back to full replay when the snapshot is damaged, with the same state', async () => {
    const dir = freshDir();
    const store = await openFileStore({ dir, snapshotsKept: 1 });
    await commitMix(store, 50, 4);
    await store.snapshot();
    await commitMix(store, 10, 5);
    const before = store.dump();
    await store.close();
    const snapshotName = readdirSync(dir).find((name) => name.endsWith('.snap'))!;
    const snapshotPath = join(dir, snapshotName);
    const bytes = readFileSync(snapshotPath);
    bytes[bytes.length - 40] = (bytes[bytes.length - 40] ?? 0) ^ 0x01;
    writeFileSync(snapshotPath, bytes);
    const again = await openFileStore({ dir });
    expect(again.dump()).toEqual(before);
    await again.close();
    expect(readdirSync(dir)).toContain(`${snapshotName}.damaged`);
  });

  it('prunes segments behind snapshots only when asked, and reports pruned history as unavailable', async () => {
    const dir = freshDir();
    const options = { dir, pruneSegments: true, segmentBytesMax: 4096, snapshotsKept: 1 };
    const store = await openFileStore(options);
    await commitMix(store, 80, 8);
    await store.snapshot();
    await commitMix(store, 5, 9);
    const before = store.dump();
    const error = await failureOf(store.read({ from: 1 }));
    expect(isOrdoError(error, 'HISTORY_UNAVAILABLE'), String(error)).toBe(true);
    await store.close();
    const again = await openFileStore(options);
    expect(again.dump()).toEqual(before);
    await again.close();
  });

  it('gives the same state restarting from a snapshot as replaying the whole log', async () => {
    const dir = freshDir();
    const store = await openFileStore({ dir, snapshotEvery: 25, segmentBytesMax: 8192 });
    await commitMix(store, 120, 6);
    await store.snapshot();
    await commitMix(store, 17, 7);
    const before = store.dump();
    await store.close();
    expect(readdirSync(dir).filter((name) => name.endsWith('.snap')).length).toBeGreaterThan(0);
    const fromSnapshot = await openFileStore({ dir });
    const records = await readAll(fromSnapshot);
    expect(fromSnapshot.dump()).toEqual(before);
    await fromSnapshot.close();
    // The same segments without any snapshot: the store must replay every record.
    const replayDir = freshDir();
    cpSync(dir, replayDir, { recursive: true, filter: (source) => !source.endsWith('.snap') && !source.endsWith('LOCK') });
    const replayed = await openFileStore({ dir: replayDir });
    expect(replayed.dump()).toEqual(before);
    await replayed.close();
    expect(await rebuiltDump(records)).toEqual(before);
  });
});
