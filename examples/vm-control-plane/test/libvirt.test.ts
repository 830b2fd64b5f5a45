// The libvirt adapter on a real libvirtd with real QEMU processes and real qcow2 images.
// VMs are tiny (32 MiB, software emulation, no guest OS); every domain a test defines is
// destroyed and undefined after it, also when it fails (TrackedVirsh).
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { domainName, parseDomainXml } from '@ordo/adapters/libvirt';
import { Vm } from '../src/entities/index.js';
import { hostAdd, vmAttachDisk, vmCreate, vmDelete, vmDetachDisk, vmMigrate, vmPowerOff, vmPowerOn, volumeCreate, volumeResize } from '../src/operations/index.js';
import { expectLibvirtAgreement, libvirtAvailable, libvirtControlPlane, mebibyte, qcow2VirtualSizeOf, virsh, type LibvirtFixture } from './libvirt-fixture.js';

const available = libvirtAvailable();
const fixtures: LibvirtFixture[] = [];
afterEach(async () => {
  for (const fixture of fixtures.splice(0)) await fixture.cleanup();
});

async function fresh(options: Parameters<typeof libvirtControlPlane>[0] = {}): Promise<LibvirtFixture> {
  const fixture = await libvirtControlPlane(options);
  fixtures.push(fixture);
  return fixture;
}

/** The domain's persistent definition (where define writes the metadata), and whether it runs. */
function domain(vmId: string) {
  const running = virsh('domstate', domainName(vmId)).trim() === 'running';
  return { ...parseDomainXml(virsh('dumpxml', '--inactive', domainName(vmId))), running };
}

describe.skipIf(!available)('libvirt adapter: every VM operation of the example on real libvirt', () => {
  it('create, power on, attach, detach, resize, power off, migrate, delete: virsh agrees after each', async () => {
    const fixture = await fresh();
    const { dc, runtime } = fixture;
    const created = await runtime.run(vmCreate, { name: 'life', vcpus: 1, memoryMiB: 32, hostId: dc.h1, newDisks: [{ name: 'life-root', containerId: dc.qcow, sizeBytes: 64 * mebibyte }], nics: [{ subnetId: dc.prod }] });
    const vmId = created.value.vmId;
    const rootId = created.value.volumeIds[0] ?? '';
    const info = domain(vmId);
    expect(info).toMatchObject({ running: false, memoryMiB: 32, vcpus: 1, metadata: { entityId: vmId, entityVersion: fixture.store.get(Vm, vmId)?.version, position: created.position } });
    expect(info.disks.map((disk) => disk.path)).toEqual([`${fixture.storageRoot}/${dc.qcow}/${rootId}.qcow2`]);
    expect(qcow2VirtualSizeOf(info.disks[0]?.path ?? '')).toBe(64 * mebibyte);
    await expectLibvirtAgreement(fixture);

    const on = await runtime.run(vmPowerOn, { vmId });
    expect(domain(vmId)).toMatchObject({ running: true, metadata: { position: on.position } });
    await expectLibvirtAgreement(fixture);

    // A raw volume attached to the running VM: hot-plugged, and in its definition for the next start.
    const data = await runtime.run(volumeCreate, { name: 'life-data', containerId: dc.raw, sizeBytes: 16 * mebibyte });
    await runtime.run(vmAttachDisk, { vmId, volumeId: data.value });
    expect(virsh('domblklist', domainName(vmId))).toContain(`${data.value}.raw`);
    expect(virsh('dumpxml', '--inactive', domainName(vmId))).toContain(`${data.value}.raw`);
    await expectLibvirtAgreement(fixture);

    // The root image is locked by the running QEMU: the hypervisor resizes it live.
    await runtime.run(volumeResize, { volumeId: rootId, sizeBytes: 96 * mebibyte });
    expect(virsh('domblkinfo', domainName(vmId), 'sda')).toMatch(new RegExp(`Capacity:\\s+${96 * mebibyte}`));
    expect(qcow2VirtualSizeOf(domain(vmId).disks[0]?.path ?? '')).toBe(96 * mebibyte);
    await expectLibvirtAgreement(fixture);

    await runtime.run(vmDetachDisk, { vmId, volumeId: data.value });
    expect(virsh('domblklist', domainName(vmId))).not.toContain(`${data.value}.raw`);
    await expectLibvirtAgreement(fixture);

    const off = await runtime.run(vmPowerOff, { vmId });
    expect(domain(vmId)).toMatchObject({ running: false, metadata: { position: off.position } });
    // The VM is stopped, so its image is not locked: qemu-img resizes it.
    await runtime.run(volumeResize, { volumeId: rootId, sizeBytes: 128 * mebibyte });
    expect(qcow2VirtualSizeOf(domain(vmId).disks[0]?.path ?? '')).toBe(128 * mebibyte);
    await expectLibvirtAgreement(fixture);

    // h1 and h2 share the local connection: the domain stays, its metadata follows the log.
    const moved = await runtime.run(vmMigrate, { vmId, targetHostId: dc.h2 });
    expect(fixture.store.get(Vm, vmId)?.data.hostId).toBe(dc.h2);
    expect(domain(vmId).metadata?.position).toBe(moved.position);
    await expectLibvirtAgreement(fixture);

    // h3 names the same libvirtd by another URI: the move defines the domain "there" and must
    // not then remove it "here" (the old host's domain carries an older position than the move's).
    const h3 = await runtime.run(hostAdd, { name: 'h3', cpuThreads: 4, memoryMiB: 4096, libvirtUri: 'qemu+unix:///system' });
    const aliased = await runtime.run(vmMigrate, { vmId, targetHostId: h3.value });
    expect(domain(vmId).metadata?.position).toBe(aliased.position);

    await runtime.run(vmDelete, { vmId });
    expect(() => virsh('domstate', domainName(vmId))).toThrow(/failed to get domain/);
    await expectLibvirtAgreement(fixture);
  });
});

describe.skipIf(!available)('libvirt adapter: libvirt failures become specific errors, then compensation', () => {
  it('prepare refuses a VM larger than the host really has (virsh nodeinfo): INSUFFICIENT_HOST_MEMORY, nothing written', async () => {
    const fixture = await fresh({ hostMemoryMiB: 1024 * 1024 * 1024 });
    const vm = await fixture.runtime.run(vmCreate, { name: 'huge', vcpus: 1, memoryMiB: 512 * 1024, hostId: fixture.dc.h1 });
    const head = fixture.store.position;
    const error = await fixture.runtime.run(vmPowerOn, { vmId: vm.value.vmId }).catch((rejection: unknown) => rejection);
    expect(error).toMatchObject({ code: 'INSUFFICIENT_HOST_MEMORY', adapter: 'hypervisor', step: 'prepare', details: { requested: 512 * 1024 } });
    expect(fixture.store.position).toBe(head);
    expect(domain(vm.value.vmId).running).toBe(false);
  });

  it('QEMU cannot allocate the memory prepare let through (overcommit): HOST_OUT_OF_MEMORY with libvirt\'s message, compensated', async () => {
    const fixture = await fresh({ hostMemoryMiB: 1024 * 1024 * 1024, memoryOvercommit: 1000 });
    const vm = await fixture.runtime.run(vmCreate, { name: 'too-big', vcpus: 1, memoryMiB: 100 * 1024, hostId: fixture.dc.h1 });
    const error = await fixture.runtime.run(vmPowerOn, { vmId: vm.value.vmId }).catch((rejection: unknown) => rejection);
    expect(error).toMatchObject({ code: 'HOST_OUT_OF_MEMORY', adapter: 'hypervisor', step: 'apply', details: { libvirtMessage: expect.stringMatching(/Cannot allocate memory/) } });
    // The compensation put the VM back to powered off, and the domain is stopped as the log says.
    expect(fixture.store.get(Vm, vm.value.vmId)?.data.power).toBe('off');
    expect(domain(vm.value.vmId).running).toBe(false);
    await expectLibvirtAgreement(fixture);
  });

  it('a disk image removed behind Ordo\'s back: DOMAIN_START_FAILED, compensated', async () => {
    const fixture = await fresh();
    const vm = await fixture.runtime.run(vmCreate, { name: 'lost-disk', vcpus: 1, memoryMiB: 32, hostId: fixture.dc.h1, newDisks: [{ name: 'lost-root', containerId: fixture.dc.qcow, sizeBytes: mebibyte }] });
    rmSync(domain(vm.value.vmId).disks[0]?.path ?? '');
    const error = await fixture.runtime.run(vmPowerOn, { vmId: vm.value.vmId }).catch((rejection: unknown) => rejection);
    expect(error).toMatchObject({ code: 'DOMAIN_START_FAILED', adapter: 'hypervisor', details: { action: 'start', libvirtMessage: expect.stringMatching(/No such file|Cannot access storage/) } });
    expect(fixture.store.get(Vm, vm.value.vmId)?.data.power).toBe('off');
    expect(domain(vm.value.vmId).running).toBe(false);
  });

  it('a host whose libvirtd does not answer: HYPERVISOR_UNREACHABLE at prepare, nothing written', async () => {
    const fixture = await fresh();
    // A connection to a socket nobody listens on fails as a stopped libvirtd does ("Failed to connect socket").
    const dead = await fixture.runtime.run(hostAdd, { name: 'dead', cpuThreads: 2, memoryMiB: 1024 * 1024, libvirtUri: 'qemu+unix:///system?socket=/nonexistent/libvirt-sock' });
    // Power-on places a VM without a host on the one with the most free memory: the dead host.
    const vm = await fixture.runtime.run(vmCreate, { name: 'homeless', vcpus: 1, memoryMiB: 32 });
    const head = fixture.store.position;
    const error = await fixture.runtime.run(vmPowerOn, { vmId: vm.value.vmId }).catch((rejection: unknown) => rejection);
    expect(error).toMatchObject({ code: 'HYPERVISOR_UNREACHABLE', adapter: 'hypervisor', step: 'prepare', details: { libvirtMessage: expect.stringMatching(/Failed to connect socket/) } });
    expect(fixture.store.position).toBe(head);
    expect(fixture.store.get(Vm, vm.value.vmId)?.data.hostId).toBeUndefined();
    expect(dead.value).not.toBe(fixture.dc.h1);
  });
});
