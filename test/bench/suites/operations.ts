import { z } from 'zod';
import { createRuntime, defineEntity, defineOperation, memoryLog, openStore, OperationError, type LogStore } from '@ordo/core';
import { fileLog } from '@ordo/adapters/file';
import { hypervisorAdapter, SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { closedLoop, type BenchContext, type BenchSuite } from '../harness.js';

// The issue 5 benchmark: imperative operations through the runtime (validate, plan in a
// transaction, prepare, commit, apply on the simulated hypervisor, outcome record). One
// iteration is vm.create (defined on a host) followed by vm.powerOn (capacity check on that
// host, then the agent starts it): 2 operations, 4 records. The runtime runs operations one at
// a time, so one caller is the meaningful concurrency.
const Host = defineEntity('host', z.object({ name: z.string(), cpuThreads: z.number().int(), memoryMiB: z.number().int() }), { unique: ['name'] });
const Vm = defineEntity(
  'vm',
  z.object({
    name: z.string(),
    vcpus: z.number().int(),
    memoryMiB: z.number().int(),
    power: z.enum(['on', 'off']),
    hostId: z.string().optional(),
    disks: z.array(z.string()),
    nics: z.array(z.object({ subnetId: z.string(), mac: z.string(), ip: z.string() })),
  }),
  { unique: ['name'], index: ['hostId'] },
);
const hostCount = 64;

const vmCreate = defineOperation({
  name: 'vm.create',
  input: z.object({ name: z.string(), vcpus: z.number().int(), memoryMiB: z.number().int(), hostId: z.string() }),
  plan(tx, input) {
    if (tx.find(Vm, { name: input.name }).length > 0) throw new OperationError({ code: 'NAME_CONFLICT', message: input.name });
    tx.require(Host, input.hostId);
    return tx.create(Vm, { ...input, power: 'off', disks: [], nics: [] }).id;
  },
});

const vmPowerOn = defineOperation({
  name: 'vm.powerOn',
  input: z.object({ vmId: z.string() }),
  plan(tx, input) {
    const vm = tx.require(Vm, input.vmId);
    const hostId = vm.data.hostId ?? '';
    const host = tx.require(Host, hostId);
    const used = tx.find(Vm, { hostId }).reduce((sum, other) => sum + (other.data.power === 'on' ? other.data.memoryMiB : 0), 0);
    if (used + vm.data.memoryMiB > host.data.memoryMiB) {
      throw new OperationError({ code: 'INSUFFICIENT_HOST_MEMORY', message: host.data.name, details: { requested: vm.data.memoryMiB, available: host.data.memoryMiB - used } });
    }
    tx.update(Vm, vm.id, { power: 'on' });
  },
});

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
  },
};

export default suite;
