// The libvirt adapter on the machine's real libvirtd (qemu:///system) with real QEMU
// processes: tiny domains (32 MiB, software emulation, no guest OS), each removed after its
// test, also when it fails. Skipped, loudly, only where libvirtd is not installed; CI
// installs it (scripts/libvirt-up.sh) and sets ORDO_LIBVIRT_REQUIRED=1 so it cannot skip there.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entity, EntityChange, StateView } from '@ordo/core';
import { domainName, domainUuid, domainXml, parseDomainXml } from './domain-xml.js';
import { LibvirtConnection } from './libvirt-connection.js';
import { libvirtHypervisor } from './libvirt-hypervisor.js';
import { virshRunner } from './virsh.js';

const uri = 'qemu:///system';
const deadUri = 'qemu+unix:///system?socket=/nonexistent/libvirt-sock';
const virsh = virshRunner();
const available = libvirtAnswers();
const made: string[] = [];

function libvirtAnswers(): boolean {
  let answers = false;
  try {
    answers = existsSync('/usr/sbin/libvirtd') && execFileSync('virsh', ['-c', uri, 'version'], { stdio: 'pipe', timeout: 30_000 }).length > 0;
  } catch {
    answers = false;
  }
  if (!answers) {
    const message = 'libvirt adapter tests SKIPPED: /usr/sbin/libvirtd is not installed or does not answer (run scripts/libvirt-up.sh as root)';
    if (process.env.ORDO_LIBVIRT_REQUIRED === '1') throw new Error(`${message}; ORDO_LIBVIRT_REQUIRED=1`);
    process.stderr.write(`\n!!!!! ${message} !!!!!\n\n`);
  }
  return answers;
}

afterEach(async () => {
  for (const name of made.splice(0)) {
    await virsh(uri, ['destroy', name]).catch(() => undefined);
    await virsh(uri, ['undefine', name]).catch(() => undefined);
  }
});

/** A VM id no other run uses, whose domain the test removes afterwards. */
function vmId(label: string): string {
  const id = `${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  made.push(domainName(id));
  return id;
}

const host: Entity = { kind: 'host', id: 'h1', version: 1, data: { name: 'h1', libvirtUri: uri } };

function vm(id: string, version: number, data: { power: 'on' | 'off'; hostId?: string; memoryMiB?: number }): Entity {
  return { kind: 'vm', id, version, data: { name: id, vcpus: 1, memoryMiB: data.memoryMiB ?? 32, power: data.power, disks: [], nics: [], ...(data.hostId === undefined ? {} : { hostId: data.hostId }) } };
}

function view(position: number, entities: readonly Entity[]): StateView {
  return {
    position,
    get: (kind, id) => entities.find((entity) => entity.kind === kind && entity.id === id),
    list: (kind) => entities.filter((entity) => entity.kind === kind).sort((a, b) => (a.id < b.id ? -1 : 1)),
  };
}

function change(before: Entity | undefined, after: Entity | undefined): EntityChange {
  const entity = after ?? before;
  if (entity === undefined) throw new Error('a change needs a before or an after');
  return { kind: entity.kind, id: entity.id, op: before === undefined ? 'create' : after === undefined ? 'delete' : 'update', before, after } as EntityChange;
}

async function state(id: string): Promise<string> {
  return (await virsh(uri, ['domstate', domainName(id)]).catch(() => 'absent')).trim();
}

describe.skipIf(!available)('libvirt connection: each libvirt failure, provoked for real, has its code and libvirt\'s message', () => {
  it('unreachable, not found, name taken, start, destroy, define, attach, detach, resize and undefine failures', async () => {
    const id = vmId('mapping');
    const name = domainName(id);
    const connection = new LibvirtConnection(uri, virsh, { adapter: 'hypervisor', entity: { kind: 'vm', id } });
    const code = (promise: Promise<unknown>) => promise.then(() => 'no error', (error: { code: string; details: { libvirtMessage: string } }) => `${error.code}: ${error.details.libvirtMessage}`);
    expect(await code(new LibvirtConnection(deadUri, virsh, { adapter: 'hypervisor' }).domainNames())).toMatch(/^HYPERVISOR_UNREACHABLE: .*Failed to connect socket/);
    expect(await code(connection.start(name))).toMatch(/^DOMAIN_NOT_FOUND: .*failed to get domain/);
    const definition = { name, uuid: domainUuid(id), title: id, memoryMiB: 32, vcpus: 1, disks: [], nics: [], metadata: { entityId: id, entityVersion: 1, position: 1, epoch: 0 } };
    await connection.define(domainXml(definition));
    expect(await code(connection.define(domainXml({ ...definition, uuid: domainUuid(`${id}-other`) })))).toMatch(/^DOMAIN_NAME_TAKEN: .*already exists with uuid/);
    expect(await code(connection.define('<domain type="qemu"><name>x</name></domain>'))).toMatch(/^DOMAIN_DEFINE_FAILED: /);
    expect(await code(connection.destroy(name))).toMatch(/^DOMAIN_DESTROY_FAILED: .*domain is not running/);
    await connection.start(name);
    expect(await code(connection.start(name))).toMatch(/^DOMAIN_START_FAILED: .*already active/);
    const missingDisk = "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/nonexistent/d.qcow2'/><target dev='sdc' bus='scsi'/></disk>";
    expect(await code(connection.attachLive(name, missingDisk))).toMatch(/^DISK_ATTACH_FAILED: .*No such file/);
    expect(await code(connection.detachLive(name, missingDisk))).toMatch(/^DISK_DETACH_FAILED: /);
    // A disk the running domain does not have cannot be resized.
    expect(await code(connection.resizeLive(name, '/nonexistent/d.qcow2', 64 * 1024 ** 2))).toMatch(/^DISK_RESIZE_FAILED: .*not found in the domain/);
    expect((await connection.domain(name))?.running).toBe(true);
    // A transient domain (started from XML, never defined) cannot be undefined.
    const transient = domainName(vmId('transient'));
    await virsh(uri, ['create', '@input'], domainXml({ ...definition, name: transient, uuid: domainUuid(transient) }));
    expect(await code(connection.undefine(transient))).toMatch(/^DOMAIN_UNDEFINE_FAILED: .*cannot undefine transient domain/);
  });
});

describe.skipIf(!available)('libvirt adapter: stateless, fenced by the position in its metadata, and only its own domains', () => {
  it('refuses a stale apply (older fencing token, position then epoch, than the domain\'s metadata) and repeats a current one', async () => {
    const id = vmId('stale');
    const adapter = libvirtHypervisor({ storageRoot: '/nonexistent' });
    const v1 = vm(id, 1, { power: 'off', hostId: 'h1' });
    const v2 = vm(id, 2, { power: 'on', hostId: 'h1' });
    await adapter.apply({ changes: [change(undefined, v1)], view: view(5, [host, v1]), position: 5, epoch: 0 });
    await adapter.apply({ changes: [change(v1, v2)], view: view(9, [host, v2]), position: 9, epoch: 0 });
    expect(await state(id)).toBe('running');
    // Record 5 again, from a runtime that fell behind: the domain was changed by record 9.
    const stale = adapter.apply({ changes: [change(undefined, v1)], view: view(5, [host, v1]), position: 5, epoch: 0 });
    await expect(stale).rejects.toMatchObject({ code: 'STALE_FENCING_TOKEN', details: { domainPosition: 9, applyPosition: 5 } });
    const deleteStale = adapter.apply({ changes: [change(v1, undefined)], view: view(7, [host]), position: 7, epoch: 0 });
    await expect(deleteStale).rejects.toMatchObject({ code: 'STALE_FENCING_TOKEN' });
    expect(await state(id)).toBe('running');
    // The same record again (a retry after a crash) is applied: idempotent.
    await adapter.apply({ changes: [change(v1, v2)], view: view(9, [host, v2]), position: 9, epoch: 0 });
    expect(await state(id)).toBe('running');
    // Record 10 taken over (epoch 1) and applied by its new owner; the old owner, only slow, applies it late at epoch 0.
    const v3 = vm(id, 3, { power: 'off', hostId: 'h1' });
    await adapter.apply({ changes: [change(v2, v3)], view: view(10, [host, v3]), position: 10, epoch: 1 });
    expect(parseDomainXml(await virsh(uri, ['dumpxml', '--inactive', domainName(id)])).metadata).toMatchObject({ position: 10, epoch: 1 });
    const slow = adapter.apply({ changes: [change(v2, v3)], view: view(10, [host, v3]), position: 10, epoch: 0 });
    await expect(slow).rejects.toMatchObject({ code: 'STALE_FENCING_TOKEN', details: { domainPosition: 10, domainEpoch: 1, applyPosition: 10, applyEpoch: 0 } });
    // A reconcile from a view older than the domain's token (a runtime behind the log) leaves the domain alone.
    await adapter.reconcile?.({ view: view(8, [host, v2]), held: () => false });
    expect(await state(id)).toBe('shut off');
    expect(parseDomainXml(await virsh(uri, ['dumpxml', '--inactive', domainName(id)])).metadata).toMatchObject({ position: 10, epoch: 1 });
  });

  it('a fresh adapter instance continues where another stopped (I10), and reconcile repairs a domain removed behind its back', async () => {
    const id = vmId('fresh');
    const on = vm(id, 1, { power: 'on', hostId: 'h1' });
    await libvirtHypervisor({ storageRoot: '/nonexistent' }).apply({ changes: [change(undefined, on)], view: view(3, [host, on]), position: 3, epoch: 0 });
    const off = vm(id, 2, { power: 'off', hostId: 'h1' });
    await libvirtHypervisor({ storageRoot: '/nonexistent' }).apply({ changes: [change(on, off)], view: view(4, [host, off]), position: 4, epoch: 0 });
    expect(await state(id)).toBe('shut off');
    await virsh(uri, ['undefine', domainName(id)]);
    const fresh = libvirtHypervisor({ storageRoot: '/nonexistent' });
    await fresh.reconcile?.({ view: view(6, [host, on]), held: () => false });
    expect(await state(id)).toBe('running');
    await fresh.reconcile?.({ view: view(7, [host]), held: () => false });
    expect(await state(id)).toBe('absent');
  });

  it('reconcile leaves a VM held by an unsettled operation to its owner: neither converged nor removed', async () => {
    const kept = vmId('held-kept');
    const gone = vmId('held-gone');
    const adapter = libvirtHypervisor({ storageRoot: '/nonexistent' });
    const keptOff = vm(kept, 1, { power: 'off', hostId: 'h1' });
    const goneOff = vm(gone, 1, { power: 'off', hostId: 'h1' });
    await adapter.apply({ changes: [change(undefined, keptOff), change(undefined, goneOff)], view: view(2, [host, keptOff, goneOff]), position: 2, epoch: 0 });
    // The log says: kept is on, gone is deleted; both are held (another runtime is applying them).
    const keptOn = vm(kept, 2, { power: 'on', hostId: 'h1' });
    const heldIds = new Set([kept, gone]);
    await adapter.reconcile?.({ view: view(4, [host, keptOn]), held: (kind, id) => kind === 'vm' && heldIds.has(id) });
    expect(await state(kept)).toBe('shut off');
    expect(await state(gone)).toBe('shut off');
    // Once settled (no longer held), reconcile converges both.
    await adapter.reconcile?.({ view: view(4, [host, keptOn]), held: () => false });
    expect(await state(kept)).toBe('running');
    expect(await state(gone)).toBe('absent');
  });

  it('reconcile leaves domains without Ordo\'s metadata alone, and apply refuses to take over one that has its name', async () => {
    const foreign = vmId('foreign');
    const name = domainName(foreign);
    // Named like one of Ordo's, but without its metadata: someone else's domain.
    await virsh(uri, ['define', '@input'], `<domain type='qemu'><name>${name}</name><memory unit='MiB'>32</memory><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><memballoon model='none'/></devices></domain>`);
    const adapter = libvirtHypervisor({ storageRoot: '/nonexistent' });
    await adapter.reconcile?.({ view: view(2, [host]), held: () => false });
    expect(await state(foreign)).toBe('shut off');
    const takeover = vm(foreign, 1, { power: 'on', hostId: 'h1' });
    await expect(adapter.apply({ changes: [change(undefined, takeover)], view: view(3, [host, takeover]), position: 3, epoch: 0 })).rejects.toMatchObject({ code: 'DOMAIN_NOT_MANAGED' });
    const deleted = adapter.apply({ changes: [change(takeover, undefined)], view: view(4, [host]), position: 4, epoch: 0 });
    await expect(deleted).resolves.toBeUndefined();
    expect(await state(foreign)).toBe('shut off');
    const xml = await virsh(uri, ['dumpxml', '--inactive', name]);
    expect(xml).not.toContain('ordo.dev');
  });
});
