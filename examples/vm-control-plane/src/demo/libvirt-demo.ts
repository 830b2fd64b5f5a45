// The demo on real hosts: host h1 is the local libvirtd, its VMs are real QEMU processes
// (tiny: 32 to 64 MiB, software emulation, no guest OS) and its volumes qcow2 images. The
// compensated failure is a real one (QEMU cannot allocate a VM's memory), and the restart
// rebuilds the domains from the log after they were all removed. Each run starts afresh and
// removes its domains at the end (ORDO_DEMO_KEEP=1 keeps them running).
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileLog } from '@ordo/adapters/file';
import { domainName, virshRunner } from '@ordo/adapters/libvirt';
import { openControlPlane, type ControlPlane } from '../control-plane.js';
import { Vm } from '../entities/index.js';
import { findLibvirtDisagreements, ordoDomains } from '../libvirt-agreement.js';
import { hostAdd, storageContainerCreate, subnetCreate, vmAttachDisk, vmCreate, vmPowerOn, volumeCreate } from '../operations/index.js';
import { Narrator } from './narrator.js';

const uri = 'qemu:///system';
const mebibyte = 1024 ** 2;
// The operator lets VMs claim 16 times the host's real memory: prepare lets a VM through that QEMU then cannot allocate.
const memoryOvercommit = 16;
const dataDir = resolve(process.env.ORDO_DEMO_DIR ?? '.ordo-data/vm-control-plane-libvirt');
const virsh = virshRunner();

process.stdout.write(`Ordo VM control plane demo on libvirt (${uri})
  data folder : ${dataDir} (log/ = the file log, storage/ = qcow2 images); started afresh on each run
`);
await removeDomainsOf(dataDir);
rmSync(dataDir, { recursive: true, force: true });
const open = (): Promise<ControlPlane> => openControlPlane({ log: fileLog({ dir: join(dataDir, 'log') }), storageRoot: join(dataDir, 'storage'), hypervisor: { libvirt: { memoryOvercommit } }, name: 'demo' });
let plane = await open();
const narrator = new Narrator(() => plane.runtime);

narrator.heading('Host h1 is this machine\'s libvirtd');
const hostMemoryMiB = Math.floor(Number(/Memory size:\s*(\d+)/.exec(await virsh(uri, ['nodeinfo']))?.[1]) / 1024);
const h1 = await narrator.run('h1', hostAdd, { name: 'h1', cpuThreads: 8, memoryMiB: 1024 * 1024, libvirtUri: uri }, () => `claims 1 TiB; libvirt says ${hostMemoryMiB} MiB; overcommit allowed: ${memoryOvercommit}x`);
const qcow = await narrator.run('images', storageContainerCreate, { name: 'images', maxCapacityBytes: 100 * 1024 ** 3, format: 'qcow2' }, () => '100 GiB, thin, qcow2');
const prod = await narrator.run('prod', subnetCreate, { name: 'prod', cidr: '10.0.0.0/24', gateway: '10.0.0.1', pools: [{ start: '10.0.0.10', end: '10.0.0.200' }] }, () => '10.0.0.0/24');

narrator.heading('Real VMs: defined, started, a disk attached live');
const vmIds: string[] = [];
for (const [name, memoryMiB] of [['web-1', 64], ['web-2', 32]] as const) {
  const created = await narrator.run(name, vmCreate, { name, vcpus: 1, memoryMiB, hostId: h1.value, newDisks: [{ name: `${name}-root`, containerId: qcow.value, sizeBytes: 20 * 1024 ** 3 }], nics: [{ subnetId: prod.value }] }, (value) => `${memoryMiB} MiB, ip ${value.ips.join(',')}, 20 GiB qcow2 root disk`);
  vmIds.push(created.value.vmId);
  await narrator.run(name, vmPowerOn, { vmId: created.value.vmId }, () => 'running: a QEMU process');
}
const data = await narrator.run('web-1-data', volumeCreate, { name: 'web-1-data', containerId: qcow.value, sizeBytes: 64 * mebibyte }, () => '64 MiB qcow2');
await narrator.run('web-1-data', vmAttachDisk, { vmId: vmIds[0] ?? '', volumeId: data.value }, () => 'hot-plugged into the running VM');
await showDomains();

narrator.heading('A real libvirt failure, compensated');
narrator.say(`  VM big: 100 GiB. The plan accepts it (h1 claims 1 TiB), prepare too (${hostMemoryMiB} MiB x ${memoryOvercommit}); QEMU cannot allocate it.`);
const big = await narrator.run('big', vmCreate, { name: 'big', vcpus: 1, memoryMiB: 100 * 1024, hostId: h1.value }, () => 'defined, powered off');
await narrator.expectFailure('big', vmPowerOn, { vmId: big.value.vmId });
narrator.say(`  VM big in the store: power ${plane.store.get(Vm, big.value.vmId)?.data.power}; in libvirt: ${(await virsh(uri, ['domstate', domainName(big.value.vmId)])).trim()}`);
narrator.say(`  entities vs. libvirt: ${describeProblems(await findLibvirtDisagreements(plane.store))}`);

narrator.heading('Restart: every domain removed, rebuilt from the log');
await plane.close();
await removeDomainsOf(dataDir);
narrator.say(`  control plane stopped; all of its domains destroyed and undefined: libvirt holds ${(await ordoDomains(uri)).size} of Ordo's domains`);
const started = performance.now();
plane = await open();
narrator.say(`  reopened in ${(performance.now() - started).toFixed(0)} ms: the adapter's reconcile redefined the domains and started the running ones`);
await showDomains();
narrator.say(`  entities vs. libvirt: ${describeProblems(await findLibvirtDisagreements(plane.store))}`);
await plane.close();

if (process.env.ORDO_DEMO_KEEP === '1') {
  narrator.say(`\nDone. The domains keep running (ORDO_DEMO_KEEP=1); the next run removes them.`);
} else {
  await removeDomainsOf(dataDir);
  narrator.say(`\nDone. The demo's domains were destroyed and undefined; the log and images stay in ${dataDir}.`);
}

async function showDomains(): Promise<void> {
  for (const [entityId, domain] of await ordoDomains(uri)) {
    const vm = plane.store.get(Vm, entityId);
    if (vm === undefined) continue;
    const disks = domain.liveDisks.map((disk) => `${disk.target}=${disk.path.split('/').pop() ?? ''}`).join(' ');
    narrator.say(`  virsh: ${domain.name} (${vm.data.name}) ${domain.running ? 'running' : 'shut off'}, ${domain.memoryMiB} MiB, disks ${disks || 'none'}, metadata: version ${domain.metadata?.entityVersion}, record ${domain.metadata?.position}`);
  }
}

function describeProblems(problems: readonly string[]): string {
  return problems.length === 0 ? 'they agree (checked with virsh)' : problems.join('; ');
}

/** Destroys and undefines the domains of every VM this data folder's log knows. */
async function removeDomainsOf(dir: string): Promise<void> {
  const logDir = join(dir, 'log');
  if (!existsSync(logDir)) return;
  const log = fileLog({ dir: logDir });
  await log.open();
  const ids = new Set<string>();
  const readRecordsMax = 10_000;
  for (const record of await log.read(1, readRecordsMax)) for (const change of record.changes) if (change.kind === 'vm') ids.add(change.id);
  await log.close();
  for (const id of ids) {
    await virsh(uri, ['destroy', domainName(id)]).catch(() => undefined);
    await virsh(uri, ['undefine', domainName(id)]).catch(() => undefined);
  }
}
