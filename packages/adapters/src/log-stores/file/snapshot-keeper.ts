import type { Snapshot } from '@ordo/core';
import { parseSnapshotFileName, pathIn, snapshotFileName, temporarySuffix } from './dir-layout.js';
import type { FileLogFileSystem } from './file-system.js';
import { writeSnapshotFile } from './snapshot-file.js';

export interface SnapshotKeeperOptions {
  readonly fileSystem: FileLogFileSystem;
  readonly dir: string;
  readonly durable: boolean;
  /** How many snapshot files to keep; older ones are removed after a new one is durable. */
  readonly snapshotsKept: number;
}

/**
 * Writes snapshots atomically (temporary file, fdatasync, rename, fsync of the directory: a
 * crash leaves the previous snapshot or this one, never a half) and keeps the newest few,
 * so that a damaged newest snapshot still has an older one to fall back to.
 */
export class SnapshotKeeper {
  constructor(private readonly options: SnapshotKeeperOptions) {}

  /** Writes the snapshot; returns the position of the oldest snapshot still kept. */
  async write(snapshot: Snapshot): Promise<number> {
    const { fileSystem, dir, durable } = this.options;
    const finalPath = pathIn(dir, snapshotFileName(snapshot.position));
    const temporaryPath = `${finalPath}${temporarySuffix}`;
    await fileSystem.remove(temporaryPath);
    try {
      await writeSnapshotFile(fileSystem, temporaryPath, snapshot, durable);
      await fileSystem.rename(temporaryPath, finalPath);
    } catch (error) {
      await fileSystem.remove(temporaryPath).catch(() => undefined);
      throw error;
    }
    if (durable) await fileSystem.syncDirectory(dir);
    return this.removeOld(snapshot.position);
  }

  private async removeOld(newest: number): Promise<number> {
    const { fileSystem, dir, snapshotsKept } = this.options;
    const positions = (await fileSystem.list(dir))
      .map((name) => parseSnapshotFileName(name))
      .filter((position): position is number => position !== undefined && position <= newest)
      .sort((a, b) => b - a);
    for (const position of positions.slice(snapshotsKept)) await fileSystem.remove(pathIn(dir, snapshotFileName(position)));
    return positions.slice(0, snapshotsKept).at(-1) ?? newest;
  }
}
