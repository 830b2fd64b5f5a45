import type { EntityType, JsonValue, Operation } from '@ordo/core';
import { Host, StorageContainer, Subnet, Volume, Vm } from '../entities/index.js';
import * as operations from '../operations/index.js';

/**
 * One operation as a POST. A create is posted to its collection and answers 201 with the new
 * entity; an action is posted to `/<collection>/:id/<action>`, gets the entity's id from the
 * path (into `idField` of the input) and answers 200 with the entity after it (none after a
 * delete). `If-Match` applies to actions only: a create has no version yet.
 */
export interface OperationRoute {
  readonly path: string;
  readonly operation: Operation;
  /** The entity the call answers with. */
  readonly type: EntityType;
  /** The input field the path's `:id` fills (actions only). */
  readonly idField?: string;
  /** For a create: the new entity's id from what the plan returned. */
  readonly createdId?: (value: JsonValue | undefined) => string;
  readonly deletes?: boolean;
}

const returnedId = (value: JsonValue | undefined): string => (typeof value === 'string' ? value : JSON.stringify(value));
const createdVmId = (value: JsonValue | undefined): string => String((value as { vmId: string }).vmId);

export const operationRoutes: readonly OperationRoute[] = Object.freeze([
  { path: '/hosts', operation: operations.hostAdd, type: Host, createdId: returnedId },
  { path: '/hosts/:id/enter-maintenance', operation: operations.hostEnterMaintenance, type: Host, idField: 'hostId' },
  { path: '/hosts/:id/exit-maintenance', operation: operations.hostExitMaintenance, type: Host, idField: 'hostId' },
  { path: '/storage-containers', operation: operations.storageContainerCreate, type: StorageContainer, createdId: returnedId },
  { path: '/subnets', operation: operations.subnetCreate, type: Subnet, createdId: returnedId },
  { path: '/volumes', operation: operations.volumeCreate, type: Volume, createdId: returnedId },
  { path: '/volumes/:id/resize', operation: operations.volumeResize, type: Volume, idField: 'volumeId' },
  { path: '/volumes/:id/delete', operation: operations.volumeDelete, type: Volume, idField: 'volumeId', deletes: true },
  { path: '/vms', operation: operations.vmCreate, type: Vm, createdId: createdVmId },
  { path: '/vms/:id/power-on', operation: operations.vmPowerOn, type: Vm, idField: 'vmId' },
  { path: '/vms/:id/power-off', operation: operations.vmPowerOff, type: Vm, idField: 'vmId' },
  { path: '/vms/:id/migrate', operation: operations.vmMigrate, type: Vm, idField: 'vmId' },
  { path: '/vms/:id/attach-disk', operation: operations.vmAttachDisk, type: Vm, idField: 'vmId' },
  { path: '/vms/:id/detach-disk', operation: operations.vmDetachDisk, type: Vm, idField: 'vmId' },
  { path: '/vms/:id/delete', operation: operations.vmDelete, type: Vm, idField: 'vmId', deletes: true },
] satisfies OperationRoute[]);
