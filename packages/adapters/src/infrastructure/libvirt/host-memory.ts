import { OperationError, type EntityRef, type StateView } from '@ordo/core';
import { parseVm, type VmSpec } from '../hypervisor/vm-spec.js';
import type { LibvirtConnection } from './libvirt-connection.js';

export interface HostMemoryCheckInput {
  /** The planned VM changes: the after-image, or undefined for a delete. */
  readonly planned: readonly { readonly id: string; readonly spec: VmSpec | undefined }[];
  readonly view: StateView;
  readonly memoryOvercommit: number;
  readonly kinds: { readonly vm: string; readonly host: string };
  readonly connection: (hostId: string, entity: EntityRef) => LibvirtConnection;
}

/**
 * libvirt does not check memory: a VM larger than the host fails seconds into its start.
 * So prepare compares the memory of the running VMs the log places on each host, after the
 * plan, with what the host really has (`virsh nodeinfo`, times `memoryOvercommit`). Only
 * growth is refused, so an over-full host can still be emptied. Asking the host is also the
 * reachability check: a host whose libvirtd does not answer takes no new running VM.
 */
export async function checkHostMemory(input: HostMemoryCheckInput): Promise<void> {
  const plannedIds = new Set(input.planned.map((vm) => vm.id));
  const grown = new Map<string, { after: number; entity: EntityRef | undefined }>();
  for (const vm of input.planned) {
    if (vm.spec?.power !== 'on' || vm.spec.hostId === undefined) continue;
    const committed = input.view.get(input.kinds.vm, vm.id);
    const was = committed === undefined ? undefined : parseVm(committed, 'hypervisor');
    const growth = was?.power === 'on' && was.hostId === vm.spec.hostId ? vm.spec.domain.memoryMiB - was.domain.memoryMiB : vm.spec.domain.memoryMiB;
    const entry = grown.get(vm.spec.hostId) ?? { after: 0, entity: undefined };
    grown.set(vm.spec.hostId, { after: entry.after + vm.spec.domain.memoryMiB, entity: growth > 0 ? (entry.entity ?? { kind: input.kinds.vm, id: vm.id }) : entry.entity });
  }
  for (const [hostId, growth] of grown) {
    if (growth.entity === undefined) continue;
    let placed = 0;
    for (const entity of input.view.list(input.kinds.vm)) {
      if (plannedIds.has(entity.id)) continue;
      const vm = parseVm(entity, 'hypervisor');
      if (vm.power === 'on' && vm.hostId === hostId) placed += vm.domain.memoryMiB;
    }
    const connection = input.connection(hostId, growth.entity);
    const hostMemoryMiB = await connection.memoryMiB();
    const available = Math.floor(hostMemoryMiB * input.memoryOvercommit) - placed;
    if (growth.after > available) {
      throw new OperationError({
        code: 'INSUFFICIENT_HOST_MEMORY',
        message: `host ${hostId} (${connection.uri}) has ${Math.max(0, available)} MiB left for VMs (${hostMemoryMiB} MiB, ${placed} MiB placed by the log), the change needs ${growth.after} MiB`,
        entity: growth.entity,
        details: { host: { kind: input.kinds.host, id: hostId }, requested: growth.after, available: Math.max(0, available), hostMemoryMiB, placedMiB: placed, unit: 'MiB' },
      });
    }
  }
}
