import { constants } from 'node:fs';
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { compareFencingTokens, OperationError, type FencingToken } from '@ordo/core';
import { ensureDir, syncDir, volumeFileMode } from './volume-files.js';

/**
 * The newest fencing token applied to each volume, one small file per volume under
 * `<root>/.fencing/` (apart from the container directories, so that a move keeps it, and
 * kept after a delete, so that a late apply cannot bring a deleted volume back).
 */
export function fencingDir(root: string): string {
  return join(root, '.fencing');
}

function tokenPath(root: string, volumeId: string): string {
  return join(fencingDir(root), `${volumeId}.token`);
}

export async function readFencingToken(root: string, volumeId: string): Promise<FencingToken | undefined> {
  let text: string;
  try {
    text = await readFile(tokenPath(root, volumeId), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const [position, epoch] = text.trim().split(' ').map(Number);
  if (!Number.isSafeInteger(position) || !Number.isSafeInteger(epoch)) throw new Error(`${tokenPath(root, volumeId)} does not hold a fencing token`);
  return { position: position as number, epoch: epoch as number };
}

/**
 * Refuses `token` with STALE_FENCING_TOKEN when the volume already had a newer one applied
 * (a runtime that lost the operation to another one), and records it durably otherwise,
 * before the volume file changes. Two processes checking the same volume at the same
 * instant are not serialized here: the runtime's holds keep them apart, and this catches
 * the stale owner that comes back later.
 */
export async function fenceVolume(root: string, volumeId: string, token: FencingToken, adapter: string): Promise<void> {
  const newest = await readFencingToken(root, volumeId);
  if (newest !== undefined && compareFencingTokens(token, newest) < 0) {
    throw new OperationError({
      code: 'STALE_FENCING_TOKEN',
      message: `storage refused a change to volume ${volumeId} at position ${token.position} epoch ${token.epoch}: it already applied position ${newest.position} epoch ${newest.epoch}`,
      entity: { kind: 'volume', id: volumeId },
      adapter,
      step: 'apply',
      details: { position: token.position, epoch: token.epoch, appliedPosition: newest.position, appliedEpoch: newest.epoch },
    });
  }
  if (newest !== undefined && compareFencingTokens(token, newest) === 0) return;
  const dir = fencingDir(root);
  await ensureDir(dir);
  const path = tokenPath(root, volumeId);
  const temporary = `${path}.${process.pid}.tmp`;
  const handle = await open(temporary, constants.O_CREAT | constants.O_TRUNC | constants.O_WRONLY, volumeFileMode);
  try {
    await handle.writeFile(`${token.position} ${token.epoch}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  await syncDir(dir);
}
