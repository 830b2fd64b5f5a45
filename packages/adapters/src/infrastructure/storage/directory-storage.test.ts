import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OperationError, type Entity, type EntityChange, type StateView } from '@ordo/core';
import { directoryStorage } from './directory-storage.js';
import { listVolumeFiles, volumePath } from './volume-files.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function root(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ordo-storage-'));
  dirs.push(dir);
  return join(dir, 'root');
}

function container(id: string, maxCapacityBytes: number, thin = true): Entity {
  return { kind: 'storageContainer', id, version: 1, data: { name: id, maxCapacityBytes, thin } };
}

function volume(id: string, containerId: string, sizeBytes: number, version = 1): Entity {
  return { kind: 'volume', id, version, data: { name: id, containerId, sizeBytes } };
}

/** A view over a fixed list of entities, as the store would give it. */
function viewOf(entities: readonly Entity[], position = 1): StateView {
  return {
    position,
    get: (kind, id) => entities.find((entity) => entity.kind === kind && entity.id === id),
    list: (kind) => entities.filter((entity) => entity.kind === kind),
  };
}

const create = (after: Entity): EntityChange => ({ kind: after.kind, id: after.id, op: 'create', after });

describe('directoryStorage', () => {
  it('creates, resizes, moves and deletes sparse volume files; re-applying changes nothing', async () => {
    const dir = root();
    const storage = directoryStorage({ root: dir });
    const c1 = container('c1', 1 << 30);
    const c2 = container('c2', 1 << 30);
    const v1 = volume('v1', 'c1', 1 << 20);
    const changes = [create(c1), create(c2), create(v1)];
    await storage.apply({ changes, view: viewOf([c1, c2, v1]), position: 1, epoch: 0 });
    await storage.apply({ changes, view: viewOf([c1, c2, v1]), position: 1, epoch: 0 });
    expect((await listVolumeFiles(dir)).map((file) => [file.containerId, file.volumeId, file.sizeBytes])).toEqual([['c1', 'v1', 1 << 20]]);
    const grown = volume('v1', 'c1', 4 << 20, 2);
    await storage.apply({ changes: [{ kind: 'volume', id: 'v1', op: 'update', before: v1, after: grown }], view: viewOf([c1, c2, grown]), position: 2, epoch: 0 });
    const moved = volume('v1', 'c2', 4 << 20, 3);
    await storage.apply({ changes: [{ kind: 'volume', id: 'v1', op: 'update', before: grown, after: moved }], view: viewOf([c1, c2, moved]), position: 3, epoch: 0 });
    expect((await listVolumeFiles(dir)).map((file) => [file.containerId, file.volumeId, file.sizeBytes])).toEqual([['c2', 'v1', 4 << 20]]);
    await storage.apply({ changes: [{ kind: 'volume', id: 'v1', op: 'delete', before: moved }], view: viewOf([c1, c2]), position: 4, epoch: 0 });
    await storage.apply({ changes: [{ kind: 'volume', id: 'v1', op: 'delete', before: moved }], view: viewOf([c1, c2]), position: 4, epoch: 0 });
    expect(await listVolumeFiles(dir)).toEqual([]);
  });

  it('prepare: CONTAINER_FULL counts the committed volumes plus the planned ones; shrinking always passes', async () => {
    const storage = directoryStorage({ root: root() });
    const c1 = container('c1', 10 << 20);
    const existing = volume('v1', 'c1', 6 << 20);
    const view = viewOf([c1, existing]);
    const error = await Promise.resolve(storage.prepare?.({ changes: [create(volume('v2', 'c1', 5 << 20))], view })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OperationError);
    expect(error).toMatchObject({ code: 'CONTAINER_FULL', details: { requested: 5 << 20, available: 4 << 20 } });
    await storage.prepare?.({ changes: [create(volume('v2', 'c1', 4 << 20))], view });
    const shrunk = volume('v1', 'c1', 1 << 20, 2);
    const overfull = viewOf([container('c1', 1), existing]);
    await storage.prepare?.({ changes: [{ kind: 'volume', id: 'v1', op: 'update', before: existing, after: shrunk }], view: overfull });
  });

  it('prepare: a thick container must fit in the real free space of the file system (statfs)', async () => {
    const storage = directoryStorage({ root: root() });
    const thick = container('t', 2 ** 52, false);
    const view = viewOf([thick]);
    await expect(Promise.resolve(storage.prepare?.({ changes: [create(volume('v', 't', 2 ** 51))], view }))).rejects.toMatchObject({ code: 'INSUFFICIENT_DISK_SPACE' });
    // The same size in a thin container allocates nothing up front.
    const thin = container('t', 2 ** 52, true);
    await storage.prepare?.({ changes: [create(volume('v', 't', 2 ** 51))], view: viewOf([thin]) });
  });

  it('reconcile creates missing files, fixes sizes and removes files no volume owns', async () => {
    const dir = root();
    const storage = directoryStorage({ root: dir });
    const c1 = container('c1', 1 << 30);
    const v1 = volume('v1', 'c1', 1 << 20);
    const v2 = volume('v2', 'c1', 2 << 20);
    await storage.apply({ changes: [create(c1), create(v1)], view: viewOf([c1, v1]), position: 1, epoch: 0 });
    writeFileSync(volumePath(dir, 'c1', 'orphan'), 'x');
    writeFileSync(volumePath(dir, 'c1', 'v1'), 'short');
    await storage.reconcile?.({ view: viewOf([c1, v1, v2], 1), held: () => false });
    expect((await listVolumeFiles(dir)).map((file) => [file.volumeId, file.sizeBytes])).toEqual([
      ['v1', 1 << 20],
      ['v2', 2 << 20],
    ]);
  });

  it('fencing: an apply older than what a volume already had is refused with STALE_FENCING_TOKEN and changes nothing', async () => {
    const dir = root();
    const storage = directoryStorage({ root: dir });
    const c1 = container('c1', 1 << 30);
    const v1 = volume('v1', 'c1', 1 << 20);
    await storage.apply({ changes: [create(c1), create(v1)], view: viewOf([c1, v1]), position: 5, epoch: 1 });
    const deleted: EntityChange = { kind: 'volume', id: 'v1', op: 'delete', before: v1 };
    // The same position with a lower epoch: the runtime that lost the operation to a taker.
    await expect(storage.apply({ changes: [deleted], view: viewOf([c1]), position: 5, epoch: 0 })).rejects.toMatchObject({
      code: 'STALE_FENCING_TOKEN',
      entity: { kind: 'volume', id: 'v1' },
      details: { appliedPosition: 5, appliedEpoch: 1 },
    });
    await expect(storage.apply({ changes: [deleted], view: viewOf([c1]), position: 4, epoch: 7 })).rejects.toMatchObject({ code: 'STALE_FENCING_TOKEN' });
    expect((await listVolumeFiles(dir)).map((file) => file.volumeId)).toEqual(['v1']);
    await storage.apply({ changes: [deleted], view: viewOf([c1]), position: 6, epoch: 0 });
    expect(await listVolumeFiles(dir)).toEqual([]);
    // Deleted stays deleted for a late create.
    await expect(storage.apply({ changes: [create(v1)], view: viewOf([c1, v1]), position: 5, epoch: 1 })).rejects.toMatchObject({ code: 'STALE_FENCING_TOKEN' });
  });

  it('reconcile leaves alone held volumes and volumes changed after its view', async () => {
    const dir = root();
    const storage = directoryStorage({ root: dir });
    const c1 = container('c1', 1 << 30);
    const newer = volume('newer', 'c1', 1 << 20);
    const heldVolume = volume('held', 'c1', 1 << 20);
    await storage.apply({ changes: [create(c1), create(newer)], view: viewOf([c1, newer]), position: 9, epoch: 0 });
    // The view is from position 3: 'newer' is not in it yet, 'held' is being created by its owner.
    await storage.reconcile?.({ view: viewOf([c1, heldVolume], 3), held: (kind, id) => kind === 'volume' && id === 'held' });
    expect((await listVolumeFiles(dir)).map((file) => file.volumeId)).toEqual(['newer']);
  });
});

describe('directoryStorage permissions', () => {
  it('makes directories 0700 and volume files 0600, and narrows a volume file others could read', async () => {
    const dir = root();
    const storage = directoryStorage({ root: dir });
    const c1 = container('c1', 1 << 30);
    const v1 = volume('v1', 'c1', 1 << 20);
    await storage.apply({ changes: [create(c1), create(v1)], view: viewOf([c1, v1]), position: 1, epoch: 0 });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'c1')).mode & 0o777).toBe(0o700);
    const file = volumePath(dir, 'c1', 'v1');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    chmodSync(file, 0o644);
    const grown = volume('v1', 'c1', 2 << 20, 2);
    await storage.apply({ changes: [{ kind: 'volume', id: 'v1', op: 'update', before: v1, after: grown }], view: viewOf([c1, grown]), position: 2, epoch: 0 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
