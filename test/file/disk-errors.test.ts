import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isOrdoError } from '@ordo/core';
import { nodeFileSystem, type FileLogFileSystem } from '@ordo/adapters/file';
import { Account, openFileStore, readAll } from './model.js';

const root = mkdtempSync(join(tmpdir(), 'ordo-file-disk-errors-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Fault = 'write' | 'datasync' | 'syncDirectory';

/** The real file system, except that the armed operation fails with EIO from then on. */
function faultyFileSystem(): { fileSystem: FileLogFileSystem; arm(fault: Fault): void } {
  let armed: Fault | undefined;
  const eio = (operation: string): Error => Object.assign(new Error(`injected EIO in ${operation}`), { code: 'EIO' });
  const fileSystem: FileLogFileSystem = {
    ...nodeFileSystem,
    async syncDirectory(dir) {
      if (armed === 'syncDirectory') throw eio('syncDirectory');
      await nodeFileSystem.syncDirectory(dir);
    },
    async open(path, mode) {
      const handle = await nodeFileSystem.open(path, mode);
      return {
        ...handle,
        async write(buffer, position) {
          if (armed === 'write') throw eio('write');
          await handle.write(buffer, position);
        },
        async datasync(options) {
          if (armed === 'datasync') throw eio('datasync');
          await handle.datasync(options);
        },
      };
    },
  };
  return { fileSystem, arm: (fault) => (armed = fault) };
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('file log under a store: disk errors', () => {
  for (const fault of ['write', 'datasync', 'syncDirectory'] as const) {
    it(`fails the commit with a typed error when ${fault} fails, and refuses further commits`, async () => {
      const dir = join(root, fault);
      const faulty = faultyFileSystem();
      // A tiny segment size makes every commit start a segment, so syncDirectory is on the commit path.
      const segmentBytesMax = fault === 'syncDirectory' ? 4096 : 64 * 1024 * 1024;
      const store = await openFileStore({ dir, fileSystem: faulty.fileSystem, segmentBytesMax });
      const big = 'x'.repeat(3000);
      const create = (name: string): Promise<unknown> => store.transact((tx) => tx.create(Account, { name: `${name}${big}`, group: 'g', balance: 1 }));
      await create('a');
      await create('b');
      faulty.arm(fault);
      const failed = await failureOf(create('c'));
      expect(isOrdoError(failed, 'LOG_STORE_FAILED'), String(failed)).toBe(true);
      // The failed commit is not visible, and the store does not carry on past an unknown state.
      expect(store.list(Account).map((account) => account.data.name[0])).toEqual(['a', 'b']);
      const next = await failureOf(create('d'));
      expect(isOrdoError(next, 'LOG_STORE_FAILED'), String(next)).toBe(true);
      await store.close();
      const reopened = await openFileStore({ dir });
      const names = reopened.list(Account).map((account) => account.data.name[0]);
      // The unknown outcome resolves either way on reopen; what was acknowledged is always there.
      expect([['a', 'b'], ['a', 'b', 'c']]).toContainEqual(names.sort());
      expect((await readAll(reopened)).length).toBe(reopened.position);
      await reopened.close();
    });
  }
});
