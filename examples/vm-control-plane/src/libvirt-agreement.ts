import type { Store } from '@ordo/core';
import { domainName, LibvirtConnection, virshRunner, type DomainInfo, type VirshRunner } from '@ordo/adapters/libvirt';
import { Host, Vm, Volume } from './entities/index.js';

/** Ordo's domains on one connection (named `ordo-*` and carrying its metadata), by entity id. */
export async function ordoDomains(uri: string, virsh: VirshRunner = virshRunner()): Promise<Map<string, DomainInfo>> {
  const names = (await virsh(uri, ['list', '--all', '--name'])).split('\n').map((line) => line.trim()).filter((name) => name.startsWith('ordo-'));
  const connection = new LibvirtConnection(uri, virsh, { adapter: 'agreement check' });
  const domains = new Map<string, DomainInfo>();
  for (const name of names) {
    const domain = await connection.domain(name);
    if (domain?.metadata !== undefined) domains.set(domain.metadata.entityId, domain);
  }
  return domains;
}

/**
 * Compares the VM entities with libvirt, through virsh: each VM with a host is a domain on
 * that host's connection, running exactly when its power is on, with the entity's memory,
 * vCPUs (as defined) and disks (as running, in order), its metadata naming the entity and version; Ordo's domains of
 * VMs the store does not place there are disagreements too. `ignore` lists entity ids whose
 * domains belong to someone else (another test, another store on the same libvirtd).
 */
export async function findLibvirtDisagreements(store: Store, options: { readonly owned?: (entityId: string) => boolean; readonly virsh?: VirshRunner } = {}): Promise<string[]> {
  const problems: string[] = [];
  const owned = options.owned ?? (() => true);
  const uris = [...new Set(store.list(Host).flatMap((host) => (host.data.libvirtUri === undefined ? [] : [host.data.libvirtUri])))].sort();
  const vms = new Map(store.list(Vm).map((vm) => [vm.id, vm]));
  for (const uri of uris) {
    for (const [entityId, domain] of await ordoDomains(uri, options.virsh)) {
      if (!owned(entityId) && !vms.has(entityId)) continue;
      const vm = vms.get(entityId);
      const hostUri = vm?.data.hostId === undefined ? undefined : store.get(Host, vm.data.hostId)?.data.libvirtUri;
      if (vm === undefined || hostUri !== uri) {
        problems.push(`${uri} has domain ${domain.name} of VM ${entityId}, which the log does not place there`);
        continue;
      }
      if (domain.running !== (vm.data.power === 'on')) problems.push(`VM ${vm.data.name} is ${domain.running ? 'running' : 'shut off'} but its power is ${vm.data.power}`);
      if (domain.memoryMiB !== vm.data.memoryMiB || domain.vcpus !== vm.data.vcpus) problems.push(`VM ${vm.data.name} has ${domain.memoryMiB} MiB / ${domain.vcpus} vCPUs in libvirt, ${vm.data.memoryMiB} / ${vm.data.vcpus} in the log`);
      if (domain.metadata?.entityVersion !== vm.version) problems.push(`VM ${vm.data.name}: domain metadata has version ${domain.metadata?.entityVersion}, the log ${vm.version}`);
      const disks = domain.liveDisks.map((disk) => disk.path.split('/').pop()?.replace(/\.(raw|qcow2)$/, ''));
      const wanted = vm.data.disks.filter((id) => store.get(Volume, id) !== undefined);
      if (JSON.stringify(disks) !== JSON.stringify(wanted)) problems.push(`VM ${vm.data.name} has disks ${disks.join(',') || 'none'} in libvirt, ${wanted.join(',') || 'none'} in the log`);
    }
    for (const vm of vms.values()) {
      const hostUri = vm.data.hostId === undefined ? undefined : store.get(Host, vm.data.hostId)?.data.libvirtUri;
      if (hostUri === uri && (await virshDomainMissing(uri, domainName(vm.id), options.virsh))) problems.push(`VM ${vm.data.name} has no domain on ${uri}`);
    }
  }
  return problems;
}

async function virshDomainMissing(uri: string, name: string, virsh: VirshRunner = virshRunner()): Promise<boolean> {
  return virsh(uri, ['domstate', name]).then(
    () => false,
    () => true,
  );
}
