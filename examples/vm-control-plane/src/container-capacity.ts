import type { EntityOf, Transaction } from '@ordo/core';
import { Volume, type StorageContainer } from './entities/index.js';
import { fail, ref } from './operation-failure.js';

/** Bytes the container's volumes hold, as this transaction sees them. */
export function containerUsedBytes(tx: Transaction, containerId: string): number {
  return tx.find(Volume, { containerId }).reduce((sum, volume) => sum + volume.data.sizeBytes, 0);
}

/** Fails with CONTAINER_FULL when `growthBytes` more would exceed the container's limit. */
export function requireContainerRoom(tx: Transaction, container: EntityOf<typeof StorageContainer>, growthBytes: number): void {
  const available = container.data.maxCapacityBytes - containerUsedBytes(tx, container.id);
  if (growthBytes > available) {
    fail({
      code: 'CONTAINER_FULL',
      message: `storage container ${container.data.name} has ${formatBytes(available)} free, ${formatBytes(growthBytes)} requested`,
      details: { requested: growthBytes, available, container: ref('storageContainer', container.id), containerName: container.data.name },
      entity: ref('storageContainer', container.id),
    });
  }
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}
