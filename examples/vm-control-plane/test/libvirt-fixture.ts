import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { fileLog } from '@ordo/adapters/file';
import { virshRunner, type VirshRunner } from '@ordo/adapters/libvirt';
import { findLibvirtDisagreements } from '../src/libvirt-agreement.js';
import { openControlPlane, type ControlPlane } from '../src/control-plane.js';
import { hostAdd, storageContainerCreate, subnetCreate } from '../src/operations/index.js';

export const localUri = 'qemu:///system';
export const mebibyte = 1024 ** 2;

/**
 * Whether libvirtd answers here. CI (`.ci/run`, through scripts/libvirt-up.sh) installs and
 * starts it and sets ORDO_LIBVIRT_REQUIRED=1, so that a missing daemon fails there instead
 * of skipping; elsewhere the tests are skipped with a loud message.
 */
export function libvirtAvailable(): boolean {
  const answers = existsSync('/usr/sbin/libvirtd') && tryVirshVersion();
  if (!answers) {
    const message = 'libvirt tests SKIPPED: /usr/sbin/libvirtd is not installed or does not answer on qemu:///system (run scripts/libvirt-up.sh as root)';
    if (process.env.ORDO_LIBVIRT_REQUIRED === '1') throw new Error(`${message}; ORDO_LIBVIRT_REQUIRED=1`);
    process.stderr.write(`\n!!!!! ${message} !!!!!\n\n`);
  }
  return answers;
}

function tryVirshVersion(): boolean {
  try {
    execFileSync('virsh', ['-c', localUri, 'version'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/** A virsh runner that remembers every domain it defined, so that a test removes them all, also when it fails. */
export class TrackedVirsh {
  readonly defined = new Set<string>();
  private readonly inner = virshRunner();
  readonly run: VirshRunner = async (uri, args, stdin) => {
    const output = await this.inner(uri, args, stdin);
    const name = args[0] === 'define' ? /<name>([^<]*)<\/name>/.exec(stdin ?? '')?.[1] : undefined;
    if (name !== undefined) this.defined.add(`${uri} ${name}`);
    return output;
  };

  /** Destroys and undefines every domain this runner defined (those already gone are skipped). */
  async removeAll(): Promise<void> {
    for (const entry of this.defined) {
      const [uri = localUri, name = ''] = entry.split(' ');
      await this.inner(uri, ['destroy', name]).catch(() => undefined);
      await this.inner(uri, ['undefine', name]).catch(() => undefined);
    }
    this.defined.clear();
  }
}

export interface LibvirtDatacenter {
  readonly h1: string;
  readonly h2: string;
  readonly qcow: string;
  readonly raw: string;
  readonly prod: string;
}

export interface LibvirtFixture extends ControlPlane {
  readonly dir: string;
  readonly storageRoot: string;
  readonly virsh: TrackedVirsh;
  readonly dc: LibvirtDatacenter;
  reopen(options?: { memoryOvercommit?: number }): Promise<ControlPlane>;
  cleanup(): Promise<void>;
}

/**
 * A control plane on a file log in a temporary directory with the libvirt adapter on the
 * local libvirtd: two host entities, by default on the same connection (so a migration
 * between them is a move of the domain's metadata, not of the domain; `h2Uri` puts h2 on
 * another daemon), a qcow2 and a raw container, a subnet.
 */
export async function libvirtControlPlane(options: { memoryOvercommit?: number; hostMemoryMiB?: number; h2Uri?: string } = {}): Promise<LibvirtFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'ordo-libvirt-'));
  const storageRoot = join(dir, 'storage');
  const virsh = new TrackedVirsh();
  const open = (memoryOvercommit = options.memoryOvercommit): Promise<ControlPlane> =>
    openControlPlane({ log: fileLog({ dir: join(dir, 'log') }), storageRoot, hypervisor: { libvirt: { virsh: virsh.run, ...(memoryOvercommit === undefined ? {} : { memoryOvercommit }) } } });
  let plane = await open();
  const memoryMiB = options.hostMemoryMiB ?? 4096;
  const h1 = (await plane.runtime.run(hostAdd, { name: 'h1', cpuThreads: 4, memoryMiB, libvirtUri: localUri })).value;
  const h2 = (await plane.runtime.run(hostAdd, { name: 'h2', cpuThreads: 4, memoryMiB, libvirtUri: options.h2Uri ?? localUri })).value;
  const qcow = (await plane.runtime.run(storageContainerCreate, { name: 'qcow', maxCapacityBytes: 100 * 1024 ** 3, format: 'qcow2' })).value;
  const raw = (await plane.runtime.run(storageContainerCreate, { name: 'raw', maxCapacityBytes: 100 * 1024 ** 3 })).value;
  const prod = (await plane.runtime.run(subnetCreate, { name: 'prod', cidr: '10.0.0.0/24', gateway: '10.0.0.1', pools: [{ start: '10.0.0.10', end: '10.0.0.200' }] })).value;
  const fixture: LibvirtFixture = {
    get store() {
      return plane.store;
    },
    get runtime() {
      return plane.runtime;
    },
    close: () => plane.close(),
    dir,
    storageRoot,
    virsh,
    dc: { h1, h2, qcow, raw, prod },
    async reopen(reopenOptions = {}) {
      await plane.close().catch(() => undefined);
      plane = await open(reopenOptions.memoryOvercommit);
      return plane;
    },
    async cleanup() {
      await plane.close().catch(() => undefined);
      await virsh.removeAll();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** libvirt, read through virsh, matches the store: domains, their state, disks and metadata. */
export async function expectLibvirtAgreement(fixture: LibvirtFixture): Promise<void> {
  const mine = new Set([...fixture.virsh.defined].map((entry) => entry.split(' ')[1]));
  expect(await findLibvirtDisagreements(fixture.store, { owned: (entityId) => mine.has(`ordo-${entityId}`) })).toEqual([]);
}

export function virsh(...args: string[]): string {
  return virshOn(localUri, ...args);
}

export function virshOn(uri: string, ...args: string[]): string {
  return execFileSync('virsh', ['-q', '-c', uri, ...args], { encoding: 'utf8', timeout: 60_000, stdio: 'pipe' });
}

/** The size a VM sees of a qcow2 image, read by qemu-img (-U: also while a running VM holds its lock). */
export function qcow2VirtualSizeOf(path: string): number {
  const info = JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', path], { encoding: 'utf8' })) as { 'virtual-size': number };
  return info['virtual-size'];
}
