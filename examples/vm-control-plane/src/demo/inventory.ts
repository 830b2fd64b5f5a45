import type { Store } from '@ordo/core';
import { listVolumeFiles } from '@ordo/adapters/storage';
import type { SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { formatBytes } from '../container-capacity.js';
import { Host, StorageContainer, Vm, Volume } from '../entities/index.js';
import { textTable } from './text-table.js';

/** Tables of hosts, VMs and volumes: the entity model next to what the infrastructure reports. */
export async function inventory(store: Store, hypervisor: SimulatedHypervisor, storageRoot: string): Promise<string> {
  const vms = store.list(Vm);
  const hostName = (id: string | undefined): string => (id === undefined ? '-' : (store.get(Host, id)?.data.name ?? id));
  const vmName = (id: string | undefined): string => (id === undefined ? '-' : (store.get(Vm, id)?.data.name ?? id));
  const hosts = store.list(Host).map((host) => {
    const running = vms.filter((vm) => vm.data.hostId === host.id && vm.data.power === 'on');
    const memory = running.reduce((sum, vm) => sum + vm.data.memoryMiB, 0);
    const threads = running.reduce((sum, vm) => sum + vm.data.vcpus, 0);
    const agent = hypervisor.domains().filter((domain) => domain.hostId === host.id);
    return [
      host.data.name,
      `${threads}/${host.data.cpuThreads}`,
      `${memory}/${host.data.memoryMiB}`,
      host.data.maintenance ? 'yes' : 'no',
      `${agent.filter((domain) => domain.state === 'running').length} running, ${agent.length} defined`,
    ];
  });
  const vmRows = vms.map((vm) => [
    vm.data.name,
    hostName(vm.data.hostId),
    vm.data.power,
    hypervisor.locate(vm.id).map((hostId) => `${hostName(hostId)}:${hypervisor.domain(hostId, vm.id)?.state ?? '?'}`).join(',') || '-',
    String(vm.data.vcpus),
    String(vm.data.memoryMiB),
    vm.data.nics.map((nic) => nic.ip).join(',') || '-',
    vm.data.disks.map((id) => store.get(Volume, id)?.data.name ?? id).join(',') || '-',
  ]);
  const files = new Map((await listVolumeFiles(storageRoot)).map((file) => [file.volumeId, file]));
  const volumeRows = store.list(Volume).map((volume) => {
    const file = files.get(volume.id);
    return [
      volume.data.name,
      store.get(StorageContainer, volume.data.containerId)?.data.name ?? volume.data.containerId,
      formatBytes(volume.data.sizeBytes),
      file === undefined ? 'MISSING' : `${formatBytes(file.sizeBytes)} (${formatBytes(file.allocatedBytes)} on disk)`,
      vmName(volume.data.attachment?.vmId),
    ];
  });
  return [
    textTable(['host', 'vCPU used', 'MiB used', 'maintenance', 'host agent reports'], hosts),
    textTable(['vm', 'host', 'power', 'hypervisor reports', 'vcpus', 'MiB', 'ips', 'disks'], vmRows),
    textTable(['volume', 'container', 'size', 'file', 'attached to'], volumeRows),
  ].join('\n\n');
}
