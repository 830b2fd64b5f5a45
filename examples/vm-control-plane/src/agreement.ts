import type { Store } from '@ordo/core';
import type { SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { listVolumeFiles } from '@ordo/adapters/storage';
import { Vm, Volume } from './entities/index.js';

/**
 * Compares the entity model with the infrastructure: every volume entity has its file (in
 * its container's directory, of its size) and no file lacks an entity; every VM with a host
 * is defined there and nowhere else, running exactly when its power is on. Returns the
 * disagreements, one sentence each; empty when they agree.
 */
export async function findDisagreements(store: Store, hypervisor: SimulatedHypervisor, storageRoot: string): Promise<string[]> {
  const problems: string[] = [];
  const files = new Map((await listVolumeFiles(storageRoot)).map((file) => [file.volumeId, file]));
  for (const volume of store.list(Volume)) {
    const file = files.get(volume.id);
    files.delete(volume.id);
    if (file === undefined) problems.push(`volume ${volume.data.name} (${volume.id}) has no file`);
    else if (file.containerId !== volume.data.containerId) problems.push(`volume ${volume.data.name} is in container ${file.containerId}, not ${volume.data.containerId}`);
    else if (file.sizeBytes !== volume.data.sizeBytes) problems.push(`volume ${volume.data.name} file is ${file.sizeBytes} bytes, not ${volume.data.sizeBytes}`);
  }
  for (const file of files.values()) problems.push(`file ${file.path} belongs to no volume`);
  const domains = hypervisor.domains();
  const vms = new Map(store.list(Vm).map((vm) => [vm.id, vm]));
  for (const domain of domains) {
    const vm = vms.get(domain.id);
    if (vm === undefined) problems.push(`host ${domain.hostId} has VM ${domain.spec.name} (${domain.id}), which does not exist`);
    else if (vm.data.hostId !== domain.hostId) problems.push(`VM ${vm.data.name} is defined on host ${domain.hostId}, not on ${vm.data.hostId ?? 'no host'}`);
    else if ((domain.state === 'running') !== (vm.data.power === 'on')) problems.push(`VM ${vm.data.name} is ${domain.state} but its power is ${vm.data.power}`);
  }
  for (const vm of vms.values()) {
    if (vm.data.hostId !== undefined && hypervisor.domain(vm.data.hostId, vm.id) === undefined) problems.push(`VM ${vm.data.name} is not defined on host ${vm.data.hostId}`);
  }
  return problems;
}
