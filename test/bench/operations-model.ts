import { createRuntime, openStore, type LogStore, type OperationRuntime, type Store } from '@ordo/core';
import { Host, hostCount, Vm, vmCreate, vmPowerOn } from './vm-model.js';
import { hypervisorAdapter, SimulatedHypervisor } from '@ordo/adapters/hypervisor';

// The ordo-operations workload: vm.create (defined on a host) then vm.powerOn (capacity check
// on that host, then the agent starts it): 2 operations, 4 records (plus lease renewals). The
// entity types and operations are the benchmarks' one model (vm-model.ts).

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
