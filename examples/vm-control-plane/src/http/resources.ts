import type { EntityType } from '@ordo/core';
import { Host, StorageContainer, Subnet, Volume, Vm } from '../entities/index.js';

/** A collection of the API: its path segment and the entity type it lists. */
export interface Resource {
  readonly path: string;
  readonly type: EntityType;
}

export const resources: readonly Resource[] = Object.freeze([
  { path: 'hosts', type: Host },
  { path: 'storage-containers', type: StorageContainer },
  { path: 'volumes', type: Volume },
  { path: 'subnets', type: Subnet },
  { path: 'vms', type: Vm },
]);
