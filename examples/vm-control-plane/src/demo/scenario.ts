import type { SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { listVolumeFiles } from '@ordo/adapters/storage';
import { readRuntimeMeta } from '@ordo/core';
import { findDisagreements } from '../agreement.js';
import type { ControlPlane } from '../control-plane.js';
import { Host, StorageContainer, Subnet, Vm, Volume } from '../entities/index.js';
import { gibibyte } from '../datacenter.js';
import { hostAdd, storageContainerCreate, subnetCreate, vmCreate, vmPowerOn, volumeCreate } from '../operations/index.js';
import type { Narrator } from './narrator.js';

/** The demo's first part: build, run VMs, three specific errors, one compensated adapter failure. */
export async function runScenario(narrator: Narrator, plane: ControlPlane, hypervisor: SimulatedHypervisor, storageRoot: string): Promise<void> {
  const dc = await buildSmallDatacenter(narrator);
  const vms = await startVms(narrator, plane, dc);
  await showErrors(narrator, plane, dc, vms.web1Ip);
  await showCompensation(narrator, plane, hypervisor, storageRoot, dc);
}

interface SmallDatacenter {
  readonly h1: string;
  readonly h2: string;
  readonly h3: string;
  readonly fast: string;
  readonly small: string;
  readonly prod: string;
}

async function buildSmallDatacenter(narrator: Narrator): Promise<SmallDatacenter> {
  narrator.heading('A small datacenter');
  const host = async (name: string, cpuThreads: number, memoryMiB: number) =>
    (await narrator.run(name, hostAdd, { name, cpuThreads, memoryMiB }, () => `${cpuThreads} threads, ${memoryMiB} MiB`)).value;
  const h1 = await host('h1', 32, 65_536);
  const h2 = await host('h2', 16, 32_768);
  const h3 = await host('h3', 8, 8_192);
  const container = async (name: string, size: number) =>
    (await narrator.run(name, storageContainerCreate, { name, maxCapacityBytes: size * gibibyte, thin: true }, () => `${size} GiB, thin`)).value;
  const fast = await container('fast', 500);
  const small = await container('small', 20);
  const prod = await narrator.run('prod', subnetCreate, { name: 'prod', cidr: '10.0.0.0/24', gateway: '10.0.0.1', pools: [{ start: '10.0.0.10', end: '10.0.0.200' }] }, () => '10.0.0.0/24, pool .10-.200');
  return { h1, h2, h3, fast, small, prod: prod.value };
}

async function startVms(narrator: Narrator, plane: ControlPlane, dc: SmallDatacenter): Promise<{ web1Ip: string }> {
  narrator.heading('Create and power on VMs');
  const specs = [
    { name: 'web-1', vcpus: 4, memoryMiB: 8192, disk: 20 },
    { name: 'web-2', vcpus: 4, memoryMiB: 8192, disk: 20 },
    { name: 'db-1', vcpus: 8, memoryMiB: 32_768, disk: 200 },
    { name: 'cache-1', vcpus: 2, memoryMiB: 6144, disk: 10 },
  ];
  let web1Ip = '';
  for (const spec of specs) {
    const created = await narrator.run(
      spec.name,
      vmCreate,
      { name: spec.name, vcpus: spec.vcpus, memoryMiB: spec.memoryMiB, newDisks: [{ name: `${spec.name}-root`, containerId: dc.fast, sizeBytes: spec.disk * gibibyte }], nics: [{ subnetId: dc.prod }] },
      (value) => `${spec.vcpus} vCPU, ${spec.memoryMiB} MiB, ip ${value.ips.join(',')}, root disk ${spec.disk} GiB`,
    );
    if (spec.name === 'web-1') web1Ip = created.value.ips[0] ?? '';
    await narrator.run(spec.name, vmPowerOn, { vmId: created.value.vmId }, (value) => `placed on ${plane.store.get(Host, value.hostId)?.data.name ?? value.hostId}, running`);
  }
  return { web1Ip };
}

async function showErrors(narrator: Narrator, plane: ControlPlane, dc: SmallDatacenter, web1Ip: string): Promise<void> {
  narrator.heading('Three immediate, specific errors (nothing is written)');
  const analytics = await narrator.run('analytics', vmCreate, { name: 'analytics', vcpus: 4, memoryMiB: 12_288, hostId: dc.h3 }, () => 'defined on h3 (8 GiB host), powered off');
  await narrator.expectFailure('analytics', vmPowerOn, { vmId: analytics.value.vmId });
  await narrator.expectFailure('web-3', vmCreate, { name: 'web-3', vcpus: 2, memoryMiB: 4096, nics: [{ subnetId: dc.prod, ip: web1Ip }] });
  await narrator.expectFailure('backup', volumeCreate, { name: 'backup', containerId: dc.small, sizeBytes: 25 * gibibyte });
  const sizes = plane.store.list(StorageContainer).map((container) => container.data.name).join(', ');
  narrator.say(`  (subnets: ${plane.store.list(Subnet).length}, containers: ${sizes}; the log head did not move)`);
}

async function showCompensation(narrator: Narrator, plane: ControlPlane, hypervisor: SimulatedHypervisor, storageRoot: string, dc: SmallDatacenter): Promise<void> {
  narrator.heading('An adapter failure, compensated');
  const files = async (): Promise<string> => {
    const found = await listVolumeFiles(storageRoot);
    const names = found.map((file) => plane.store.get(Volume, file.volumeId)?.data.name ?? `no volume! ${file.path}`);
    return `${found.length} files: ${names.join(', ')}`;
  };
  narrator.say(`  volume files before: ${await files()}`);
  narrator.say('  injecting a fault: host h2\'s agent will fail to define VM web-3');
  hypervisor.failNextApply('web-3', 'agent on h2 timed out');
  const head = plane.store.position;
  await narrator.expectFailure(
    'web-3',
    vmCreate,
    { name: 'web-3', vcpus: 2, memoryMiB: 4096, hostId: dc.h2, newDisks: [{ name: 'web-3-root', containerId: dc.fast, sizeBytes: 20 * gibibyte }], nics: [{ subnetId: dc.prod }] },
    'demo:vm.create:web-3-compensated',
  );
  // On a second run the failure is replayed from the log and the fault was never consumed.
  hypervisor.clearFaults();
  for (const record of await plane.store.read({ from: head + 1 })) {
    const meta = readRuntimeMeta(record);
    const changes = record.changes.map((change) => `${change.op} ${change.kind}`).join(', ') || 'no entity changes';
    const link = meta?.type === 'compensation' ? `, reverts record ${meta.ofPosition}; adapters undoing: ${meta.adapters.join(' then ')}` : '';
    narrator.say(`  record ${record.position}: ${record.operation ?? '-'} ${meta?.type ?? ''} (${changes}${link})`);
  }
  narrator.say(`  volume files after:  ${await files()}`);
  narrator.say(`  VM web-3 in the store: ${plane.store.find(Vm, { name: 'web-3' }).length === 0 ? 'no' : 'yes'}; on any host: ${hypervisor.domains().some((domain) => domain.spec.name === 'web-3') ? 'yes' : 'no'}`);
  const problems = await findDisagreements(plane.store, hypervisor, storageRoot);
  narrator.say(`  entities vs. volume files and host agents: ${problems.length === 0 ? 'they agree, file by file' : problems.join('; ')}`);
}
