import type { EntityOf, JsonObject, Transaction } from '@ordo/core';
import { Vm, type Host } from './entities/index.js';

export interface HostUse {
  readonly memoryMiB: number;
  readonly vcpus: number;
}

/** Memory and vCPUs of the running VMs on a host (stopped VMs hold none). */
export function hostUse(tx: Transaction, hostId: string, except?: string): HostUse {
  let memoryMiB = 0;
  let vcpus = 0;
  for (const vm of tx.find(Vm, { hostId })) {
    if (vm.data.power !== 'on' || vm.id === except) continue;
    memoryMiB += vm.data.memoryMiB;
    vcpus += vm.data.vcpus;
  }
  return { memoryMiB, vcpus };
}

/** Why a VM cannot run on a host, with the numbers, or undefined when it fits. */
export interface HostRefusal {
  readonly code: 'HOST_IN_MAINTENANCE' | 'INSUFFICIENT_HOST_MEMORY' | 'INSUFFICIENT_HOST_CPU';
  readonly message: string;
  readonly details: JsonObject;
}

export function hostRefusal(tx: Transaction, host: EntityOf<typeof Host>, vm: EntityOf<typeof Vm>): HostRefusal | undefined {
  const hostRef = { kind: 'host', id: host.id };
  if (host.data.maintenance) {
    return { code: 'HOST_IN_MAINTENANCE', message: `host ${host.data.name} is in maintenance`, details: { host: hostRef, hostName: host.data.name } };
  }
  const use = hostUse(tx, host.id, vm.id);
  const memoryFree = host.data.memoryMiB - use.memoryMiB;
  if (vm.data.memoryMiB > memoryFree) {
    return {
      code: 'INSUFFICIENT_HOST_MEMORY',
      message: `host ${host.data.name} has ${memoryFree} MiB free, VM ${vm.data.name} needs ${vm.data.memoryMiB} MiB`,
      details: { host: hostRef, hostName: host.data.name, requested: vm.data.memoryMiB, available: memoryFree, unit: 'MiB' },
    };
  }
  const threadsFree = host.data.cpuThreads - use.vcpus;
  if (vm.data.vcpus > threadsFree) {
    return {
      code: 'INSUFFICIENT_HOST_CPU',
      message: `host ${host.data.name} has ${threadsFree} CPU threads free, VM ${vm.data.name} needs ${vm.data.vcpus}`,
      details: { host: hostRef, hostName: host.data.name, requested: vm.data.vcpus, available: threadsFree, unit: 'threads' },
    };
  }
  return undefined;
}
