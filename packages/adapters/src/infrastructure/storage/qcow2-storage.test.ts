// Volumes as qcow2 images, made by the real qemu-img (installed with libvirt by
// scripts/libvirt-up.sh). Skipped, loudly, where qemu-img is missing; CI requires it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entity, EntityChange, StateView } from '@ordo/core';
import { directoryStorage } from './directory-storage.js';
import { listVolumeFiles } from './volume-files.js';

const available = qemuImgAnswers();
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function qemuImgAnswers(): boolean {
  try {
    execFileSync('qemu-img', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    const message = 'qcow2 storage tests SKIPPED: qemu-img is not installed (run scripts/libvirt-up.sh as root)';
    if (process.env.ORDO_LIBVIRT_REQUIRED === '1') throw new Error(`${message}; ORDO_LIBVIRT_REQUIRED=1`);
    process.stderr.write(`\n!!!!! ${message} !!!!!\n\n`);
    return false;
  }
}

const mebibyte = 1024 ** 2;
const container = (id: string, format: 'raw' | 'qcow2'): Entity => ({ kind: 'storageContainer', id, version: 1, data: { name: id, maxCapacityBytes: 1 << 30, thin: true, format } });
const volume = (id: string, containerId: string, sizeBytes: number, version = 1): Entity => ({ kind: 'volume', id, version, data: { name: id, containerId, sizeBytes } });
const viewOf = (entities: readonly Entity[], position = 1): StateView => ({
  position,
  get: (kind, id) => entities.find((entity) => entity.kind === kind && entity.id === id),
  list: (kind) => entities.filter((entity) => entity.kind === kind),
});
const update = (before: Entity, after: Entity): EntityChange => ({ kind: after.kind, id: after.id, op: 'update', before, after });
const files = async (root: string) => (await listVolumeFiles(root)).map((file) => [file.containerId, file.volumeId, file.format, file.sizeBytes]);

describe.skipIf(!available)('directoryStorage with qcow2 containers (real qemu-img)', () => {
  it('creates, grows, shrinks, converts between formats and deletes qcow2 images; sizes are the virtual size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ordo-qcow2-'));
    dirs.push(dir);
    const storage = directoryStorage({ root: dir });
    const q = container('q', 'qcow2');
    const r = container('r', 'raw');
    const v1 = volume('v1', 'q', 20 * 1024 * mebibyte);
    const created: EntityChange[] = [q, r, v1].map((after) => ({ kind: after.kind, id: after.id, op: 'create', after }));
    await storage.apply({ changes: created, view: viewOf([q, r, v1]), position: 1, epoch: 0 });
    await storage.apply({ changes: created, view: viewOf([q, r, v1]), position: 1, epoch: 0 });
    const [image] = await listVolumeFiles(dir);
    expect(await files(dir)).toEqual([['q', 'v1', 'qcow2', 20 * 1024 * mebibyte]]);
    // A thin image: a 20 GiB volume uses a few hundred kB.
    expect(image?.allocatedBytes).toBeLessThan(4 * mebibyte);
    const grown = volume('v1', 'q', 30 * 1024 * mebibyte, 2);
    await storage.apply({ changes: [update(v1, grown)], view: viewOf([q, r, grown]), position: 2, epoch: 0 });
    const shrunk = volume('v1', 'q', 8 * mebibyte, 3);
    await storage.apply({ changes: [update(grown, shrunk)], view: viewOf([q, r, shrunk]), position: 3, epoch: 0 });
    expect(await files(dir)).toEqual([['q', 'v1', 'qcow2', 8 * mebibyte]]);
    const toRaw = volume('v1', 'r', 8 * mebibyte, 4);
    await storage.apply({ changes: [update(shrunk, toRaw)], view: viewOf([q, r, toRaw]), position: 4, epoch: 0 });
    expect(await files(dir)).toEqual([['r', 'v1', 'raw', 8 * mebibyte]]);
    const back = volume('v1', 'q', 8 * mebibyte, 5);
    await storage.apply({ changes: [update(toRaw, back)], view: viewOf([q, r, back]), position: 5, epoch: 0 });
    expect(await files(dir)).toEqual([['q', 'v1', 'qcow2', 8 * mebibyte]]);
    await storage.apply({ changes: [{ kind: 'volume', id: 'v1', op: 'delete', before: back }], view: viewOf([q, r]), position: 6, epoch: 0 });
    expect(await files(dir)).toEqual([]);
  });

  it('reconcile makes the images the view says, in their container\'s format, and removes unknown ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ordo-qcow2-'));
    dirs.push(dir);
    const storage = directoryStorage({ root: dir });
    const q = container('q', 'qcow2');
    const stray = volume('stray', 'q', mebibyte);
    await storage.apply({ changes: [q, stray].map((after) => ({ kind: after.kind, id: after.id, op: 'create', after })), view: viewOf([q, stray]), position: 1, epoch: 0 });
    await storage.reconcile?.({ view: viewOf([q, volume('v2', 'q', 2 * mebibyte)], 2), held: () => false });
    expect(await files(dir)).toEqual([['q', 'v2', 'qcow2', 2 * mebibyte]]);
  });
});
