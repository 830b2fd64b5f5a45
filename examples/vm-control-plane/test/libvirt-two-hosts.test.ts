// Two real libvirt daemons on one machine: h1 is the system libvirtd (qemu:///system), h2 a
// second, independent session-mode libvirtd with its own socket, pid file and directories
// (SecondLibvirtd). A migration between them is a cold move (defined and started on the
// target, destroyed and undefined on the source); stopping h2's daemon is a host whose
// libvirtd is down. Every domain is removed afterwards and the second daemon stopped by its pid.
import { chmodSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { domainName, parseDomainXml } from '@ordo/adapters/libvirt';
import { Vm } from '../src/entities/index.js';
import { vmCreate, vmMigrate, vmPowerOff, vmPowerOn } from '../src/operations/index.js';
import { expectLibvirtAgreement, libvirtAvailable, libvirtControlPlane, localUri, mebibyte, virshOn, type LibvirtFixture } from './libvirt-fixture.js';
import { SecondLibvirtd } from './second-libvirtd.js';

const available = libvirtAvailable() && secondDaemonPossible();
const revertWaitMs = 20_000;

function secondDaemonPossible(): boolean {
  if (SecondLibvirtd.possible()) return true;
  const message = 'two-daemon libvirt tests SKIPPED: a second libvirtd needs root, runuser, tini and the libvirt-qemu user (scripts/libvirt-up.sh)';
  if (process.env.ORDO_LIBVIRT_REQUIRED === '1') throw new Error(`${message}; ORDO_LIBVIRT_REQUIRED=1`);
  process.stderr.write(`\n!!!!! ${message} !!!!!\n\n`);
  return false;
}

let second: SecondLibvirtd | undefined;
const fixtures: LibvirtFixture[] = [];

beforeAll(async () => {
  if (available) second = await SecondLibvirtd.start();
}, 60_000);
afterEach(async () => {
  await second?.resume();
  for (const fixture of fixtures.splice(0)) await fixture.cleanup();
}, 60_000);
afterAll(async () => {
  await second?.remove();
}, 60_000);

async function twoHosts(): Promise<LibvirtFixture & { readonly h2Uri: string }> {
  const h2Uri = second?.uri ?? '';
  const fixture = await libvirtControlPlane({ h2Uri });
  fixtures.push(fixture);
  // h2's QEMU runs as libvirt-qemu: it must reach the images (one storage both hosts see, as shared storage would be).
  chmodSync(fixture.dir, 0o755);
  chmodSync(fixture.storageRoot, 0o755);
  return Object.assign(fixture, { h2Uri });
}

/** Lets the second daemon's QEMU user open the images made so far. */
function shareImages(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    chmodSync(path, statSync(path).isDirectory() ? 0o777 : 0o666);
    if (statSync(path).isDirectory()) shareImages(path);
  }
}

/** An error as plain JSON (its `toJSON`): vitest cannot print an OperationError whose cause is one. */
function plain(error: unknown): unknown {
  return JSON.parse(JSON.stringify(error)) as unknown;
}

function domainOn(uri: string, vmId: string): { running: boolean; metadata: ReturnType<typeof parseDomainXml>['metadata']; disks: readonly { path: string }[] } | undefined {
  let state: string;
  try {
    state = virshOn(uri, 'domstate', domainName(vmId)).trim();
  } catch {
    return undefined;
  }
  const info = parseDomainXml(virshOn(uri, 'dumpxml', '--inactive', domainName(vmId)));
  return { running: state === 'running', metadata: info.metadata, disks: info.disks };
}

describe.skipIf(!available)('libvirt adapter on two libvirt daemons (h1 qemu:///system, h2 a second libvirtd)', () => {
  it('vm.migrate h1 -> h2 while running, and back while stopped: the domain is on the target with Ordo\'s metadata and gone from the source', async () => {
    const fixture = await twoHosts();
    const { dc, runtime, h2Uri } = fixture;
    const created = await runtime.run(vmCreate, { name: 'mover', vcpus: 1, memoryMiB: 32, hostId: dc.h1, newDisks: [{ name: 'mover-root', containerId: dc.qcow, sizeBytes: 32 * mebibyte }], nics: [{ subnetId: dc.prod }] });
    const vmId = created.value.vmId;
    shareImages(fixture.storageRoot);
    await runtime.run(vmPowerOn, { vmId });
    expect(domainOn(localUri, vmId)?.running).toBe(true);

    const moved = await runtime.run(vmMigrate, { vmId, targetHostId: dc.h2 });
    expect(fixture.store.get(Vm, vmId)?.data).toMatchObject({ hostId: dc.h2, power: 'on' });
    const onH2 = domainOn(h2Uri, vmId);
    expect(onH2).toMatchObject({ running: true, metadata: { entityId: vmId, entityVersion: fixture.store.get(Vm, vmId)?.version, position: moved.position } });
    expect(onH2?.disks.map((disk) => disk.path)).toEqual([`${fixture.storageRoot}/${dc.qcow}/${created.value.volumeIds[0]}.qcow2`]);
    expect(domainOn(localUri, vmId)).toBeUndefined();
    await expectLibvirtAgreement(fixture);

    await runtime.run(vmPowerOff, { vmId });
    const back = await runtime.run(vmMigrate, { vmId, targetHostId: dc.h1 });
    expect(domainOn(localUri, vmId)).toMatchObject({ running: false, metadata: { entityId: vmId, position: back.position } });
    expect(domainOn(h2Uri, vmId)).toBeUndefined();
    expect(fixture.store.get(Vm, vmId)?.data).toMatchObject({ hostId: dc.h1, power: 'off' });
    await expectLibvirtAgreement(fixture);
  });

  it('h2\'s libvirtd stopped: HYPERVISOR_UNREACHABLE in apply, compensated in the store; the revert is applied once the daemon answers again', async () => {
    const fixture = await twoHosts();
    const { dc, runtime, h2Uri } = fixture;
    const vm = await runtime.run(vmCreate, { name: 'stranded', vcpus: 1, memoryMiB: 32, hostId: dc.h2 });
    const vmId = vm.value.vmId;
    await runtime.run(vmPowerOn, { vmId });
    expect(domainOn(h2Uri, vmId)?.running).toBe(true);
    const other = await runtime.run(vmCreate, { name: 'waiting', vcpus: 1, memoryMiB: 32, hostId: dc.h2 });

    await second?.pause();
    const error = await runtime.run(vmPowerOff, { vmId }).then(() => undefined, plain);
    expect(error).toMatchObject({ code: 'HYPERVISOR_UNREACHABLE', adapter: 'hypervisor', step: 'apply', details: { uri: h2Uri, libvirtMessage: expect.stringMatching(/Failed to connect socket/) } });
    // The compensation is committed: the log says on again, as the domain (still running without its daemon) is.
    expect(fixture.store.get(Vm, vmId)?.data.power).toBe('on');
    // Starting a VM on the stopped host is refused at prepare, before anything is written.
    const head = fixture.store.position;
    expect(await runtime.run(vmPowerOn, { vmId: other.value.vmId }).then(() => undefined, plain)).toMatchObject({ code: 'HYPERVISOR_UNREACHABLE', step: 'prepare' });
    expect(fixture.store.position).toBe(head);

    await second?.resume();
    // The runtime applies the pending revert again on its next round; then libvirt and the log agree.
    const deadline = Date.now() + revertWaitMs;
    while (Date.now() < deadline && fixture.runtime.recovered.every((entry) => entry.operation !== 'vm.powerOff')) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(plain(fixture.runtime.recovered)).toEqual(expect.arrayContaining([expect.objectContaining({ operation: 'vm.powerOff', outcome: 'reverted', error: expect.objectContaining({ code: 'HYPERVISOR_UNREACHABLE' }) })]));
    expect(domainOn(h2Uri, vmId)?.running).toBe(true);
    await expectLibvirtAgreement(fixture);
  });
});
