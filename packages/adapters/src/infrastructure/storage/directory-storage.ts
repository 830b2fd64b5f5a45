import { statfs } from 'node:fs/promises';
import { InvalidArgumentError, OperationError, type EntityChange, type FencingToken, type InfrastructureAdapter, type StateView } from '@ordo/core';
import { fenceVolume, readFencingToken } from './fencing-files.js';
import { containerSpecSchema, parseEntity, volumeSpecSchema, type VolumeFormat } from './storage-spec.js';
import { ensureImage, moveImage } from './volume-image.js';
import type { LockedImageResize } from './qemu-img.js';
import { checkCapacity } from './storage-capacity.js';
import {
  containerDir,
  ensureDir,
  listVolumeFiles,
  removeDirIfEmpty,
  removeIfExists,
  syncDir,
  volumePath,
} from './volume-files.js';

export interface DirectoryStorageOptions {
  /** The directory that holds one directory per storage container. */
  readonly root: string;
  /** Default 'storage'. */
  readonly name?: string;
  /** Default 'volume'. */
  readonly volumeKind?: string;
  /** Default 'storageContainer'. */
  readonly containerKind?: string;
  /**
   * A qcow2 image a running VM holds cannot be resized by qemu-img. 'hypervisor' leaves that
   * resize to the hypervisor adapter (`libvirtHypervisor` does it live with `virsh
   * blockresize`); 'fail' (the default) fails the apply.
   */
  readonly lockedImageResize?: LockedImageResize;
  /** Free bytes the file system must keep after a change; prepare vetoes changes that would eat into them. Default 0. */
  readonly reserveBytes?: number;
}

const volumeFormats: readonly VolumeFormat[] = ['raw', 'qcow2'];

/**
 * A storage adapter whose volumes are real files, one directory per storage container:
 * `<root>/<containerId>/<volumeId>.raw` (sparse files) or `.qcow2` (images made with
 * `qemu-img`, for containers whose `format` is 'qcow2'). `apply` creates, resizes, moves and
 * deletes them (with fsync); `prepare` vetoes a change that would exceed the container's
 * `maxCapacityBytes` or the file system's real free space (thick containers count the full
 * size; thin ones only the reserve). Stateless (I10): containers and volumes come from the
 * changes and the view, files from the directory.
 */
export function directoryStorage(options: DirectoryStorageOptions): InfrastructureAdapter {
  const name = options.name ?? 'storage';
  const volumeKind = options.volumeKind ?? 'volume';
  const containerKind = options.containerKind ?? 'storageContainer';
  const reserveBytes = options.reserveBytes ?? 0;
  if (!Number.isSafeInteger(reserveBytes) || reserveBytes < 0) throw new InvalidArgumentError('reserveBytes', 'must be an integer >= 0');
  const { root } = options;
  const kinds = { name, volumeKind, containerKind };

  const formatOf = (view: StateView, containerId: string): VolumeFormat => {
    const container = view.get(containerKind, containerId);
    return container === undefined ? 'raw' : parseEntity(containerSpecSchema, container, name).format;
  };
  const applyChange = async (change: EntityChange, view: StateView, token: FencingToken): Promise<void> => {
    if (change.kind === volumeKind) await fenceVolume(root, change.id, token, name);
    if (change.kind === containerKind) {
      if (change.after !== undefined) await ensureDir(containerDir(root, change.id));
      else await removeDirIfEmpty(containerDir(root, change.id));
      return;
    }
    if (change.kind !== volumeKind) return;
    const before = change.before === undefined ? undefined : parseEntity(volumeSpecSchema, change.before, name);
    const after = change.after === undefined ? undefined : parseEntity(volumeSpecSchema, change.after, name);
    if (after === undefined) {
      if (before === undefined) return;
      // Its container may be gone with it, and with it the format: remove the image of either format.
      let removed = false;
      for (const format of volumeFormats) removed = (await removeIfExists(volumePath(root, before.containerId, change.id, format))) || removed;
      if (removed) await syncDir(containerDir(root, before.containerId));
      return;
    }
    const format = formatOf(view, after.containerId);
    const target = volumePath(root, after.containerId, change.id, format);
    await ensureDir(containerDir(root, after.containerId));
    if (before !== undefined && before.containerId !== after.containerId) {
      await moveImage(volumePath(root, before.containerId, change.id, formatOf(view, before.containerId)), target, format);
      await syncDir(containerDir(root, before.containerId));
    }
    await ensureImage(target, format, after.sizeBytes, options.lockedImageResize);
    await syncDir(containerDir(root, after.containerId));
  };
  return Object.freeze({
    name,
    kinds: Object.freeze([containerKind, volumeKind]),
    async prepare({ changes, view }) {
      const fileSystem = await statfs(root).catch(async () => {
        await ensureDir(root);
        return statfs(root);
      });
      checkCapacity({ changes, view, kinds, freeBytes: fileSystem.bavail * fileSystem.bsize, reserveBytes });
    },
    async apply({ changes, view, position, epoch }) {
      await ensureDir(root);
      for (const change of changes) {
        try {
          await applyChange(change, view, { position, epoch });
        } catch (error) {
          if (error instanceof OperationError) throw error;
          throw new OperationError({
            code: 'ADAPTER_FAILED',
            message: `storage: ${change.op} of ${change.kind} ${change.id} failed: ${error instanceof Error ? error.message : String(error)}`,
            entity: { kind: change.kind, id: change.id },
            adapter: name,
            step: 'apply',
            cause: error,
          });
        }
      }
    },
    async reconcile({ view, held }) {
      await reconcileDirectory(root, view, kinds, held);
    },
  } satisfies InfrastructureAdapter);
}

/**
 * Makes the directory match the view, leaving alone each volume that an unsettled operation
 * holds (its owner is applying it) or whose applied fencing token is newer than the view
 * (another runtime changed it after the view was taken).
 */
async function reconcileDirectory(root: string, view: StateView, kinds: { name: string; volumeKind: string; containerKind: string }, held: (kind: string, id: string) => boolean): Promise<void> {
  const untouchable = async (volumeId: string): Promise<boolean> =>
    held(kinds.volumeKind, volumeId) || ((await readFencingToken(root, volumeId))?.position ?? 0) > view.position;
  await ensureDir(root);
  const containers = view.list(kinds.containerKind);
  for (const container of containers) await ensureDir(containerDir(root, container.id));
  const formats = new Map(containers.map((container) => [container.id, parseEntity(containerSpecSchema, container, kinds.name).format]));
  const wanted = new Set<string>();
  for (const volume of view.list(kinds.volumeKind)) {
    const spec = parseEntity(volumeSpecSchema, volume, kinds.name);
    const format = formats.get(spec.containerId) ?? 'raw';
    const path = volumePath(root, spec.containerId, volume.id, format);
    wanted.add(path);
    if (await untouchable(volume.id)) continue;
    await ensureDir(containerDir(root, spec.containerId));
    await ensureImage(path, format, spec.sizeBytes);
  }
  for (const file of await listVolumeFiles(root)) {
    if (!wanted.has(file.path) && !(await untouchable(file.volumeId))) await removeIfExists(file.path);
  }
  // Directories of containers the log does not know are left alone: they may hold files Ordo did not make.
  for (const container of containers) await syncDir(containerDir(root, container.id));
}
