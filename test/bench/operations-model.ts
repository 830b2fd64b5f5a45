import { z } from 'zod';
import { createRuntime, defineEntity, defineOperation, openStore, OperationError, type LogStore, type OperationRuntime, type Store } from '@ordo/core';
import { hypervisorAdapter, SimulatedHypervisor } from '@ordo/adapters/hypervisor';

// The ordo-operations workload: vm.create (defined on a host) then vm.powerOn (capacity check
// on that host, then the agent starts it): 2 operations, 4 records (plus lease renewals).
export const Host = defineEntity('host', z.object({ name: z.string(), cpuThreads: z.number().int(), memoryMiB: z.number().int() }), { unique: ['name'] });
export const Vm = defineEntity(
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
export const hostCount = 64;

export const vmCreate = defineOperation({
  name: 'vm.create',
  input: z.object({ name: z.string(), vcpus: z.number().int(), memoryMiB: z.number().int(), hostId: z.string() }),
  plan(tx, input) {
    if (tx.find(Vm, { name: input.name }).length > 0) throw new OperationError({ code: 'NAME_CONFLICT', message: input.name });
    tx.require(Host, input.hostId);
    return tx.create(Vm, { ...input, power: 'off', disks: [], nics: [] }).id;
  },
});

export const vmPowerOn = defineOperation({
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

export interface OperationsPlane {
  readonly store: Store;
  readonly runtime: OperationRuntime;
  readonly hypervisor: SimulatedHypervisor;
  readonly hosts: readonly string[];
  /** One vm.create + vm.powerOn pair. */
  pair(): Promise<void>;
  /** Pairs run so far; the hypervisor must run that many VMs. */
  readonly pairs: number;
  close(): Promise<void>;
}

/** A store and a runtime on `log` with hosts of its own (named after `prefix`). */
export async function openOperationsPlane(log: LogStore, prefix: string): Promise<OperationsPlane> {
  const store = await openStore({ entities: [Host, Vm], log });
  const hypervisor = new SimulatedHypervisor();
  const runtime = await createRuntime({ store, adapters: [hypervisorAdapter({ hypervisor })], name: `bench-${prefix}` });
  const { value: hosts } = await store.transact((tx) =>
    Array.from({ length: hostCount }, (_, index) => tx.create(Host, { name: `${prefix}-h${index}`, cpuThreads: 1_000_000, memoryMiB: 1_000_000_000 }).id),
  );
  let counter = 0;
  return {
    store,
    runtime,
    hypervisor,
    hosts,
    get pairs() {
      return counter;
    },
    async pair() {
      counter += 1;
      const hostId = hosts[counter % hostCount] ?? '';
      const { value: vmId } = await runtime.run(vmCreate, { name: `${prefix}-vm-${counter}`, vcpus: 1, memoryMiB: 512, hostId });
      await runtime.run(vmPowerOn, { vmId });
    },
    async close() {
      await runtime.close();
      await store.close();
    },
  };
}

/** Throws when the hypervisor does not run one VM per pair: the bench counts only what was applied. */
export function checkApplied(plane: OperationsPlane): void {
  const running = plane.hypervisor.domains().filter((domain) => domain.state === 'running').length;
  if (running !== plane.pairs) throw new Error(`hypervisor runs ${running} VMs, the runtime started ${plane.pairs}`);
}
