import { execFileSync } from 'node:child_process';
import { createRuntime, memoryLog, openStore, type InfrastructureAdapter } from '@ordo/core';
import { hypervisorAdapter, SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { domainName, libvirtHypervisor, virshRunner } from '@ordo/adapters/libvirt';
import { closedLoop, type BenchContext } from './harness.js';
import { Host, Vm, vmCreate, vmDelete, vmPowerOff, vmPowerOn } from './vm-model.js';

// The issue 19 benchmark: one VM's whole life, vm.create + powerOn + powerOff + delete (4
// operations), on the simulated hypervisor and on real libvirt (tiny domains: 32 MiB,
// software emulation, no guest OS), side by side, with 1 and 8 callers. Each caller's VM is
// deleted before its next one starts, so at most 8 domains are alive at once.
const uri = 'qemu:///system';
const concurrencies = [1, 8] as const;

export async function measureLifecycles(context: BenchContext): Promise<void> {
  for (const concurrency of concurrencies) {
    await measure(context, 'simulated', concurrency, () => hypervisorAdapter({ hypervisor: new SimulatedHypervisor() }));
  }
  if (!libvirtAnswers()) {
    context.log('ordo-operations lifecycle on libvirt SKIPPED: libvirtd does not answer on qemu:///system (scripts/libvirt-up.sh)');
    return;
  }
  for (const concurrency of concurrencies) {
    await measure(context, 'libvirt', concurrency, () => libvirtHypervisor({ storageRoot: context.tempDir('lifecycle'), hostUri: () => uri }));
  }
}

async function measure(context: BenchContext, label: string, concurrency: number, adapter: () => InfrastructureAdapter): Promise<void> {
  const store = await openStore({ entities: [Host, Vm], log: memoryLog() });
  const runtime = await createRuntime({ store, adapters: [adapter()] });
  const { value: hostId } = await store.transact((tx) => tx.create(Host, { name: 'h1', cpuThreads: 1_000_000, memoryMiB: 1_000_000 }).id);
  const made: string[] = [];
  const finished: number[] = [];
  let counter = 0;
  const durationMs = (label === 'libvirt' ? 8000 : 3000) * context.scale;
  try {
    const loopStarted = performance.now();
    const result = await closedLoop({
      system: 'ordo-operations',
      workload: `vm-lifecycle/${label}`,
      concurrency,
      durationMs,
      operation: async () => {
        counter += 1;
        const { value: vmId } = await runtime.run(vmCreate, { name: `vm-${counter}`, vcpus: 1, memoryMiB: 32, hostId });
        made.push(vmId);
        await runtime.run(vmPowerOn, { vmId });
        await runtime.run(vmPowerOff, { vmId });
        await runtime.run(vmDelete, { vmId });
        finished.push(performance.now());
      },
    });
    // ops/s is rounded to an integer, too coarse for a real hypervisor: count the lifecycles
    // finished after closedLoop's warm-up (the same min(500 ms, duration / 4)) instead.
    const measuredFrom = loopStarted + Math.min(500, durationMs / 4);
    const measured = finished.filter((time) => time >= measuredFrom).length;
    const lifecyclesPerSecond = measured / ((performance.now() - measuredFrom) / 1000);
    context.report({ ...result, extra: { 'lifecycles/s': Math.round(lifecyclesPerSecond * 100) / 100, 'operations/s': Math.round(lifecyclesPerSecond * 400) / 100, lifecycles: measured } });
  } finally {
    await runtime.close();
    await store.close();
    if (label === 'libvirt') await removeDomains(made);
  }
}

function libvirtAnswers(): boolean {
  try {
    execFileSync('virsh', ['-c', uri, 'version'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

/** A failed run may leave domains behind: remove every one the run made. */
async function removeDomains(vmIds: readonly string[]): Promise<void> {
  const virsh = virshRunner();
  const existing = new Set((await virsh(uri, ['list', '--all', '--name'])).split('\n').map((line) => line.trim()));
  for (const id of vmIds) {
    if (!existing.has(domainName(id))) continue;
    await virsh(uri, ['destroy', domainName(id)]).catch(() => undefined);
    await virsh(uri, ['undefine', domainName(id)]).catch(() => undefined);
  }
}
