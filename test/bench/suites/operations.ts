import { createRuntime, memoryLog, openStore, type LogStore } from '@ordo/core';
import { fileLog } from '@ordo/adapters/file';
import { hypervisorAdapter, SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { closedLoop, type BenchContext, type BenchSuite } from '../harness.js';
import { measureLifecycles } from '../vm-lifecycle.js';
import { Host, hostCount, Vm, vmCreate, vmPowerOn } from '../vm-model.js';

// The issue 5 benchmark: imperative operations through the runtime (validate, plan in a
// transaction, prepare, commit, apply on the simulated hypervisor, outcome record). One
// iteration is vm.create (defined on a host) followed by vm.powerOn (capacity check on that
// host, then the agent starts it): 2 operations, 4 records. The runtime runs operations one at
// a time, so one caller is the meaningful concurrency.
async function measure(context: BenchContext, label: string, log: LogStore): Promise<void> {
  const store = await openStore({ entities: [Host, Vm], log });
  const hypervisor = new SimulatedHypervisor();
  const runtime = await createRuntime({ store, adapters: [hypervisorAdapter({ hypervisor })] });
  const { value: hosts } = await store.transact((tx) =>
    Array.from({ length: hostCount }, (_, index) => tx.create(Host, { name: `h${index}`, cpuThreads: 1_000_000, memoryMiB: 1_000_000_000 }).id),
  );
  let counter = 0;
  const result = await closedLoop({
    system: 'ordo-operations',
    workload: `create+on/${label}`,
    concurrency: 1,
    durationMs: 4000 * context.scale,
    operation: async () => {
      counter += 1;
      const hostId = hosts[counter % hostCount] ?? '';
      const { value: vmId } = await runtime.run(vmCreate, { name: `vm-${counter}`, vcpus: 1, memoryMiB: 512, hostId });
      await runtime.run(vmPowerOn, { vmId });
    },
  });
  const records = store.position;
  const running = hypervisor.domains().filter((domain) => domain.state === 'running').length;
  if (running !== counter) throw new Error(`hypervisor runs ${running} VMs, the runtime started ${counter}`);
  context.report({ ...result, extra: { 'operations/s': result.opsPerSec * 2, 'records/pair': Math.round((records / counter) * 10) / 10, vms: counter } });
  await runtime.close();
  await store.close();
}

const suite: BenchSuite = {
  name: 'operations',
  async run(context) {
    await measure(context, 'mem', memoryLog());
    await measure(context, 'file', fileLog({ dir: context.tempDir('operations') }));
    await measureLifecycles(context);
  },
};

export default suite;
