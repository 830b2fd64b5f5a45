import type { EntityOf, Transaction } from '@ordo/core';
import { Host, StorageContainer, Subnet, Volume, Vm } from './entities/index.js';
import { fail, ref } from './operation-failure.js';

// Specific NOT_FOUND codes per kind, so that a caller knows which of its inputs was wrong.

export function requireHost(tx: Transaction, id: string): EntityOf<typeof Host> {
  return tx.get(Host, id) ?? fail({ code: 'HOST_NOT_FOUND', message: `host ${id} does not exist`, details: { host: ref('host', id) }, entity: ref('host', id) });
}

export function requireVm(tx: Transaction, id: string): EntityOf<typeof Vm> {
  return tx.get(Vm, id) ?? fail({ code: 'VM_NOT_FOUND', message: `VM ${id} does not exist`, details: { vm: ref('vm', id) }, entity: ref('vm', id) });
}

export function requireVolume(tx: Transaction, id: string): EntityOf<typeof Volume> {
  return tx.get(Volume, id) ?? fail({ code: 'VOLUME_NOT_FOUND', message: `volume ${id} does not exist`, details: { volume: ref('volume', id) }, entity: ref('volume', id) });
}

export function requireContainer(tx: Transaction, id: string): EntityOf<typeof StorageContainer> {
  const container = tx.get(StorageContainer, id);
  return container ?? fail({ code: 'CONTAINER_NOT_FOUND', message: `storage container ${id} does not exist`, details: { container: ref('storageContainer', id) }, entity: ref('storageContainer', id) });
}

export function requireSubnet(tx: Transaction, id: string): EntityOf<typeof Subnet> {
  return tx.get(Subnet, id) ?? fail({ code: 'SUBNET_NOT_FOUND', message: `subnet ${id} does not exist`, details: { subnet: ref('subnet', id) }, entity: ref('subnet', id) });
}

/** Fails with NAME_CONFLICT when another entity of the type already has `name`. */
export function requireFreeName(tx: Transaction, type: typeof Host | typeof StorageContainer | typeof Volume | typeof Subnet | typeof Vm, name: string): void {
  const [existing] = tx.find(type as typeof Vm, { name });
  if (existing !== undefined) {
    fail({ code: 'NAME_CONFLICT', message: `a ${type.kind} named ${name} already exists (${existing.id})`, details: { name, existing: ref(type.kind, existing.id) }, entity: ref(type.kind, existing.id) });
  }
}
