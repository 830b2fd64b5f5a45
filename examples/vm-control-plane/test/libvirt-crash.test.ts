// A control plane on real libvirt killed (SIGKILL) between commit and apply: on restart the
// domains match the log. The child's domains are removed afterwards, also when the test fails.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fileLog } from '@ordo/adapters/file';
import { domainName, virshRunner } from '@ordo/adapters/libvirt';
import { listVolumeFiles } from '@ordo/adapters/storage';
import { openControlPlane } from '../src/control-plane.js';
import { Vm } from '../src/entities/index.js';
import { findLibvirtDisagreements } from '../src/libvirt-agreement.js';
import { libvirtAvailable, localUri, virsh } from './libvirt-fixture.js';

const childScript = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'libvirt-crash-child.ts');
const childTimeoutMs = 60_000;
// The child writes about ten records.
const logReadRecordsMax = 1000;
const available = libvirtAvailable();

async function crashBetweenCommitAndApply(dataDir: string): Promise<number> {
  const child = spawn(process.execPath, ['--conditions=@ordo/source', '--import', 'tsx', childScript, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
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

/** Destroys and undefines the domains of every VM the log ever created. */
async function removeDomains(dataDir: string): Promise<void> {
  const log = fileLog({ dir: join(dataDir, 'log') });
  await log.open();
  const records = await log.read(1, logReadRecordsMax);
  await log.close();
  const ids = new Set(records.flatMap((record) => record.changes.filter((change) => change.kind === 'vm').map((change) => change.id)));
  const run = virshRunner();
  for (const id of ids) {
    await run(localUri, ['destroy', domainName(id)]).catch(() => undefined);
    await run(localUri, ['undefine', domainName(id)]).catch(() => undefined);
  }
}

describe.skipIf(!available)('a control plane on libvirt killed between commit and apply (SIGKILL)', () => {
  it('on restart the domains match the log: the unapplied VM is defined, one removed meanwhile is rebuilt', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ordo-libvirt-crash-'));
    try {
      const position = await crashBetweenCommitAndApply(dataDir);
      const storageRoot = join(dataDir, 'storage');
      // The storage side applied (the qcow2 image exists), the hypervisor side did not.
      expect((await listVolumeFiles(storageRoot)).map((file) => file.format)).toEqual(['qcow2']);
      // While the control plane is down, someone removes VM steady's domain.
      const steadyName = virsh('list', '--name').split('\n').map((line) => line.trim()).find((name) => name.startsWith('ordo-') && virsh('dumpxml', name).includes('<title>steady</title>'));
      expect(steadyName).toBeDefined();
      virsh('destroy', steadyName ?? '');
      virsh('undefine', steadyName ?? '');

      const plane = await openControlPlane({ log: fileLog({ dir: join(dataDir, 'log') }), storageRoot, hypervisor: { libvirt: {} }, name: 'crash-child' });
      try {
        expect(plane.runtime.recovered).toMatchObject([{ operation: 'vm.create', position, outcome: 'applied' }]);
        const [crashVm] = plane.store.find(Vm, { name: 'crash-vm' });
        expect(virsh('domstate', domainName(crashVm?.id ?? '')).trim()).toBe('shut off');
        const [steady] = plane.store.find(Vm, { name: 'steady' });
        expect(virsh('domstate', domainName(steady?.id ?? '')).trim()).toBe('running');
        expect(await findLibvirtDisagreements(plane.store)).toEqual([]);
      } finally {
        await plane.close();
      }
    } finally {
      await removeDomains(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
