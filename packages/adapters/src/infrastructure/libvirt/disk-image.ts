import { OperationError, type EntityRef, type StateView } from '@ordo/core';
import { containerSpecSchema, parseEntity, volumeSpecSchema } from '../storage/storage-spec.js';
import { volumePath } from '../storage/volume-files.js';
import type { DomainDisk } from './domain-xml.js';

export interface DiskImageInput {
  readonly view: StateView;
  readonly volumeId: string;
  readonly storageRoot: string;
  readonly kinds: { readonly volume: string; readonly container: string };
  readonly adapter: string;
  readonly vm: EntityRef;
}

/** The image file of an attached volume, where the directory storage adapter keeps it, in its container's format. */
export function diskImage(input: DiskImageInput): DomainDisk {
  const entity = input.view.get(input.kinds.volume, input.volumeId);
  if (entity === undefined) {
    throw new OperationError({
      code: 'VOLUME_NOT_FOUND',
      message: `VM ${input.vm.id} has disk ${input.volumeId}, which is not a volume in the log`,
      entity: input.vm,
      adapter: input.adapter,
      step: 'apply',
      details: { volume: { kind: input.kinds.volume, id: input.volumeId } },
    });
  }
  const volume = parseEntity(volumeSpecSchema, entity, input.adapter);
  const container = input.view.get(input.kinds.container, volume.containerId);
  const format = container === undefined ? 'raw' : parseEntity(containerSpecSchema, container, input.adapter).format;
  return { volumeId: input.volumeId, path: volumePath(input.storageRoot, volume.containerId, input.volumeId, format), format };
}
