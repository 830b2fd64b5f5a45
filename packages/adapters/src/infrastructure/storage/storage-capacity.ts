import { OperationError, type EntityChange, type StateView } from '@ordo/core';
import { containerSpecSchema, parseEntity, volumeSpecSchema, type ContainerSpec } from './storage-spec.js';

export interface CapacityCheckInput {
  readonly changes: readonly EntityChange[];
  readonly view: StateView;
  readonly kinds: { readonly name: string; readonly volumeKind: string; readonly containerKind: string };
  /** Bytes available to this process on the file system (statfs `bavail * bsize`). */
  readonly freeBytes: number;
  readonly reserveBytes: number;
}

interface ContainerUse {
  readonly spec: ContainerSpec;
  readonly usedBefore: number;
  readonly usedAfter: number;
}

/**
 * Vetoes planned volume changes that would overfill a container (its `maxCapacityBytes`) or
 * the real file system. Only growth is vetoed: shrinking or deleting always passes, so an
 * over-full container can still be cleaned up.
 */
export function checkCapacity(input: CapacityCheckInput): void {
  const uses = containerUses(input);
  let thickGrowth = 0;
  for (const [containerId, use] of uses) {
    const growth = use.usedAfter - use.usedBefore;
    if (growth <= 0) continue;
    if (use.usedAfter > use.spec.maxCapacityBytes) {
      const available = Math.max(0, use.spec.maxCapacityBytes - use.usedBefore);
      throw new OperationError({
        code: 'CONTAINER_FULL',
        message: `storage container ${use.spec.name} has ${available} bytes free, the change needs ${growth}`,
        entity: { kind: input.kinds.containerKind, id: containerId },
        details: { requested: growth, available, container: { kind: input.kinds.containerKind, id: containerId } },
      });
    }
    if (!use.spec.thin) thickGrowth += growth;
  }
  const usable = input.freeBytes - input.reserveBytes;
  if (thickGrowth > usable || (uses.size > 0 && usable < 0)) {
    throw new OperationError({
      code: 'INSUFFICIENT_DISK_SPACE',
      message: `the file system has ${Math.max(0, usable)} bytes free for volumes, the change needs ${thickGrowth}`,
      details: { requested: thickGrowth, available: Math.max(0, usable), reserve: input.reserveBytes },
    });
  }
}

function containerUses(input: CapacityCheckInput): Map<string, ContainerUse> {
  const { changes, view, kinds } = input;
  const plannedVolumes = new Map<string, { containerId: string; sizeBytes: number } | undefined>();
  const plannedContainers = new Map<string, ContainerSpec | undefined>();
  for (const change of changes) {
    if (change.kind === kinds.containerKind) {
      plannedContainers.set(change.id, change.after === undefined ? undefined : parseEntity(containerSpecSchema, change.after, kinds.name));
    }
    if (change.kind === kinds.volumeKind) {
      plannedVolumes.set(change.id, change.after === undefined ? undefined : parseEntity(volumeSpecSchema, change.after, kinds.name));
    }
  }
  const touched = new Set<string>();
  for (const volume of plannedVolumes.values()) if (volume !== undefined) touched.add(volume.containerId);
  const uses = new Map<string, ContainerUse>();
  if (touched.size === 0) return uses;
  const before = new Map<string, number>();
  const after = new Map<string, number>();
  for (const entity of view.list(kinds.volumeKind)) {
    const volume = parseEntity(volumeSpecSchema, entity, kinds.name);
    before.set(volume.containerId, (before.get(volume.containerId) ?? 0) + volume.sizeBytes);
    if (!plannedVolumes.has(entity.id)) after.set(volume.containerId, (after.get(volume.containerId) ?? 0) + volume.sizeBytes);
  }
  for (const volume of plannedVolumes.values()) {
    if (volume !== undefined) after.set(volume.containerId, (after.get(volume.containerId) ?? 0) + volume.sizeBytes);
  }
  for (const containerId of touched) {
    const planned = plannedContainers.get(containerId);
    const committed = view.get(kinds.containerKind, containerId);
    const spec = planned ?? (committed === undefined ? undefined : parseEntity(containerSpecSchema, committed, kinds.name));
    if (spec === undefined) {
      throw new OperationError({
        code: 'CONTAINER_NOT_FOUND',
        message: `storage container ${containerId} does not exist`,
        entity: { kind: kinds.containerKind, id: containerId },
      });
    }
    uses.set(containerId, { spec, usedBefore: before.get(containerId) ?? 0, usedAfter: after.get(containerId) ?? 0 });
  }
  return uses;
}
