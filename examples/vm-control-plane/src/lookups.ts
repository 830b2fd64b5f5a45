import type { EntityOf, Transaction } from '@ordo/core';
import { Host, StorageContainer, Subnet, Volume, Vm } from './entities/index.js';
import { fail, ref } from './operation-failure.js';

// Specific NOT_FOUND codes per kind, so that a caller knows which of its inputs was wrong.

export function requireHost(tx: Transaction, id: string): EntityOf<typeof Host> {
  return tx.get(Host, id) ?? fail('HOST_NOT_FOUND', `host ${id} does not exist`, { host: ref('host', id) }, ref('host', id));
}

export function requireVm(tx: Transaction, id: string): EntityOf<typeof Vm> {
  return tx.get(Vm, id) ?? fail('VM_NOT_FOUND', `VM ${id} does not exist`, { vm: ref('vm', id) }, ref('vm', id));
}

export function requireVolume(tx: Transaction, id: string): EntityOf<typeof Volume> {
  return tx.get(Volume, id) ?? fail('VOLUME_NOT_FOUND', `volume ${id} does not exist`, { volume: ref('volume', id) }, ref('volume', id));
}

export function requireContainer(tx: Transaction, id: string): EntityOf<typeof StorageContainer> {
  const container = tx.get(StorageContainer, id);
  return container ?? fail('CONTAINER_NOT_FOUND', `storage container ${id} does not exist`, { container: ref('storageContainer', id) }, ref('storageContainer', id));
}

export function requireSubnet(tx: Transaction, id: string): EntityOf<typeof Subnet> {
  return tx.get(Subnet, id) ?? fail('SUBNET_NOT_FOUND', `subnet ${id} does not exist`, { subnet: ref('subnet', id) }, ref('subnet', id));
}

/** Fails with NAME_CONFLICT when another entity of the type already has `name`. */
export function requireFreeName(tx: Transaction, type: typeof Host | typeof StorageContainer | typeof Volume | typeof Subnet | typeof Vm, name: string): void {
  const [existing] = tx.find(type as typeof Vm, { name });
  if (existing !== undefined) {
    fail('NAME_CONFLICT', `a ${type.kind} named ${name} already exists (${existing.id})`, { name, existing: ref(type.kind, existing.id) }, ref(type.kind, existing.id));
  }
}
