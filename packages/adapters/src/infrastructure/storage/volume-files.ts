import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Volume files end with this; anything else in a container directory is left alone. */
export const volumeFileSuffix = '.raw';

export interface VolumeFile {
  readonly containerId: string;
  readonly volumeId: string;
  readonly path: string;
  /** The apparent size: what the VM sees. */
  readonly sizeBytes: number;
  /** Blocks really used on disk (sparse files use little until written). */
  readonly allocatedBytes: number;
}

export function containerDir(root: string, containerId: string): string {
  return join(root, containerId);
}

export function volumePath(root: string, containerId: string, volumeId: string): string {
  return join(root, containerId, `${volumeId}${volumeFileSuffix}`);
}

/** Every volume file under `root`, sorted by container then volume: what really exists. */
export async function listVolumeFiles(root: string): Promise<VolumeFile[]> {
  const files: VolumeFile[] = [];
  for (const containerId of (await readdirIfExists(root)).sort()) {
    const dir = containerDir(root, containerId);
    if (!(await stat(dir)).isDirectory()) continue;
    for (const name of (await readdirIfExists(dir)).sort()) {
      if (!name.endsWith(volumeFileSuffix)) continue;
      const path = join(dir, name);
      const info = await stat(path);
      files.push({ containerId, volumeId: name.slice(0, -volumeFileSuffix.length), path, sizeBytes: info.size, allocatedBytes: info.blocks * 512 });
    }
  }
  return files;
}

// A volume holds a VM's disk: only the owner (the storage agent's user) may read or write it.
export const volumeFileMode = 0o600;
export const volumeDirectoryMode = 0o700;

/**
 * Creates or resizes a sparse file to exactly `sizeBytes`, durably, readable by its owner only.
 * A volume file made wider by hand (or by an older version) is narrowed to owner-only again.
 */
export async function ensureSparseFile(path: string, sizeBytes: number): Promise<void> {
  const handle = await open(path, constants.O_CREAT | constants.O_RDWR, volumeFileMode);
  try {
    const { mode } = await handle.stat();
    if ((mode & 0o077) !== 0) await handle.chmod(volumeFileMode);
    if ((await handle.stat()).size !== sizeBytes) {
      await handle.truncate(sizeBytes);
      await handle.sync();
    }
  } finally {
    await handle.close();
  }
}

export async function removeIfExists(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

export async function moveIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Creates `path` and its missing parents, owner-only (an existing directory is left as it is). */
export async function ensureDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: volumeDirectoryMode });
}

/** Removes an empty directory; a directory that still holds files is kept. */
export async function removeDirIfEmpty(path: string): Promise<void> {
  try {
    await rmdir(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
  }
}

/** Makes renames and unlinks in a directory durable: fsync of the directory itself. */
export async function syncDir(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readdirIfExists(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}
