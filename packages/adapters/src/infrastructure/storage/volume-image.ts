import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { ensureQcow2, qemuImg, type LockedImageResize } from './qemu-img.js';
import type { VolumeFormat } from './storage-spec.js';
import { ensureSparseFile, exists, moveIfExists, removeIfExists } from './volume-files.js';

/** Creates or resizes a volume's image to exactly `sizeBytes` (what the VM sees), durably. */
export async function ensureImage(path: string, format: VolumeFormat, sizeBytes: number, lockedResize: LockedImageResize = 'fail'): Promise<void> {
  if (format === 'raw') {
    await ensureSparseFile(path, sizeBytes);
    return;
  }
  await ensureQcow2(path, sizeBytes, await exists(path), lockedResize);
  // qemu-img does not fsync what it wrote.
  const handle = await open(path, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Moves a volume's image to another container; between formats it is converted with
 * qemu-img (the source is removed once the copy is complete). A missing source is a move
 * done before a crash.
 */
export async function moveImage(from: string, to: string, toFormat: VolumeFormat): Promise<void> {
  const fromFormat: VolumeFormat = from.endsWith('.qcow2') ? 'qcow2' : 'raw';
  if (fromFormat === toFormat) {
    await moveIfExists(from, to);
    return;
  }
  if (!(await exists(from))) return;
  await qemuImg(['convert', '-q', '-f', fromFormat, '-O', toFormat, from, to]);
  await removeIfExists(from);
}
