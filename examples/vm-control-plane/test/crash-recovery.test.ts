import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { fileLog } from '@ordo/adapters/file';
import { SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { listVolumeFiles } from '@ordo/adapters/storage';
import { findDisagreements } from '../src/agreement.js';
import { openControlPlane } from '../src/control-plane.js';
import { Vm, Volume } from '../src/entities/index.js';

const childScript = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'crash-child.ts');
const childTimeoutMs = 30_000;
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs the child until it reports the commit, then kills it with SIGKILL. Returns the committed position. */
async function crashBetweenCommitAndApply(dataDir: string, hang: 'storage' | 'hypervisor'): Promise<number> {
  const child = spawn(process.execPath, ['--conditions=@ordo/source', '--import', 'tsx', childScript, dataDir, hang], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const position = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not commit in time; stderr: ${stderr}`)), childTimeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /COMMITTED (\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before committing; stderr: ${stderr}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return position;
}

async function restart(dataDir: string, hypervisor = new SimulatedHypervisor({ stateFile: join(dataDir, 'hypervisor.json') })) {
  const storageRoot = join(dataDir, 'storage');
  const plane = await openControlPlane({ log: fileLog({ dir: join(dataDir, 'log') }), hypervisor, storageRoot, name: 'crash-child' });
  return { ...plane, hypervisor, storageRoot };
}

describe('a control plane killed between commit and apply (SIGKILL)', () => {
  it('finishes the operation on restart: the VM runs where the log says and its volume file exists', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ordo-crash-'));
    dirs.push(dataDir);
    const position = await crashBetweenCommitAndApply(dataDir, 'hypervisor');
    // Before the restart, the storage side applied and the hypervisor side did not: they disagree.
    const filesBefore = await listVolumeFiles(join(dataDir, 'storage'));
    expect(filesBefore).toHaveLength(2);
    const plane = await restart(dataDir);
    try {
      expect(plane.runtime.recovered).toMatchObject([{ operation: 'vm.create', position, record: 'operation', outcome: 'applied' }]);
      const [vm] = plane.store.find(Vm, { name: 'crash-vm' });
      expect(vm).toBeDefined();
      expect(plane.hypervisor.domain(vm!.data.hostId!, vm!.id)).toBeDefined();
      expect(await findDisagreements(plane.store, plane.hypervisor, plane.storageRoot)).toEqual([]);
    } finally {
      await plane.close();
    }
  });

  it('reverts it on restart when the adapter fails again: no VM, no volume, no file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ordo-crash-'));
    dirs.push(dataDir);
    await crashBetweenCommitAndApply(dataDir, 'hypervisor');
    const hypervisor = new SimulatedHypervisor({ stateFile: join(dataDir, 'hypervisor.json') });
    hypervisor.failNextApply('crash-vm', 'host agent still down');
    const plane = await restart(dataDir, hypervisor);
    try {
      expect(plane.runtime.recovered).toMatchObject([{ operation: 'vm.create', outcome: 'reverted', error: { code: 'ADAPTER_FAILED', adapter: 'hypervisor' } }]);
      expect(plane.store.find(Vm, { name: 'crash-vm' })).toEqual([]);
      expect(plane.store.find(Volume, { name: 'crash-root' })).toEqual([]);
      const files = await listVolumeFiles(plane.storageRoot);
      expect(files.map((file) => file.volumeId)).toEqual(plane.store.list(Volume).map((volume) => volume.id));
      expect(await findDisagreements(plane.store, plane.hypervisor, plane.storageRoot)).toEqual([]);
    } finally {
      await plane.close();
    }
  });

  it('finishes it when the crash came before any adapter applied, on hosts that lost their state', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ordo-crash-'));
    dirs.push(dataDir);
    await crashBetweenCommitAndApply(dataDir, 'storage');
    expect((await listVolumeFiles(join(dataDir, 'storage'))).map((file) => file.sizeBytes)).toEqual([1024 ** 3]);
    // A blank hypervisor (hosts rebooted, agents empty): the adapters rebuild everything from the log.
    const plane = await restart(dataDir, new SimulatedHypervisor());
    try {
      expect(plane.runtime.recovered).toMatchObject([{ operation: 'vm.create', outcome: 'applied' }]);
      expect(plane.hypervisor.domains().map((domain) => domain.spec.name).sort()).toEqual(['crash-vm', 'steady']);
      expect(await findDisagreements(plane.store, plane.hypervisor, plane.storageRoot)).toEqual([]);
    } finally {
      await plane.close();
    }
  });
});
