import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileChildProcess } from './child-process.js';
import { Account, openFileStore } from './model.js';

const root = mkdtempSync(join(tmpdir(), 'ordo-file-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function runChild(dir: string, mode: 'write' | 'read'): Promise<FileChildProcess> {
  const child = new FileChildProcess('./lock-child.ts', [dir, mode]);
  await child.exited;
  return child;
}

describe('file log: one writer across processes', () => {
  it('refuses a second writing process, lets a read-only process in, and frees the lock on close', async () => {
    const dir = join(root, 'shared');
    const store = await openFileStore({ dir });
    await store.transact((tx) => tx.create(Account, { name: 'a', group: 'g', balance: 1 }));
    const writer = await runChild(dir, 'write');
    expect(writer.events, writer.stderr).toEqual([{ event: 'refused', code: 'LOG_LOCKED' }]);
    const reader = await runChild(dir, 'read');
    expect(reader.events, reader.stderr).toEqual([
      { event: 'opened', head: 1, pid: reader.pid },
      { event: 'append', code: 'LOG_READ_ONLY' },
    ]);
    await store.close();
    const after = await runChild(dir, 'write');
    expect(after.events, after.stderr).toEqual([{ event: 'opened', head: 1, pid: after.pid }]);
  });

  for (const start of ['free', 'stale'] as const) {
    it(`lets exactly one of several processes racing for a ${start} lock win`, async () => {
      const dir = join(root, `race-${start}`);
      if (start === 'stale') {
        const holder = new FileChildProcess('./lock-child.ts', [dir, 'hold']);
        await holder.waitFor((event) => event.event === 'opened');
        await holder.kill();
        expect(existsSync(join(dir, 'LOCK'))).toBe(true);
      }
      const racers = Array.from({ length: 3 }, () => new FileChildProcess('./lock-child.ts', [dir, 'hold']));
      const outcomes = await Promise.all(racers.map((racer) => racer.waitFor((event) => event.event === 'opened' || event.event === 'refused')));
      await Promise.all(racers.map((racer) => racer.kill()));
      expect(outcomes.filter((event) => event.event === 'opened')).toHaveLength(1);
      expect(outcomes.filter((event) => event.event === 'refused').map((event) => event.code)).toEqual(['LOG_LOCKED', 'LOG_LOCKED']);
    });
  }

  it('does not let the lock of a killed process block a restart', async () => {
    const dir = join(root, 'killed');
    const holder = new FileChildProcess('./lock-child.ts', [dir, 'hold']);
    await holder.waitFor((event) => event.event === 'opened');
    const locked = await openFileStore({ dir }).then(
      () => 'opened',
      (error: unknown) => (error as { code?: string }).code,
    );
    expect(locked).toBe('LOG_LOCKED');
    await holder.kill();
    const store = await openFileStore({ dir });
    await store.transact((tx) => tx.create(Account, { name: 'b', group: 'g', balance: 1 }));
    expect(store.position).toBe(1);
    await store.close();
  });
});
