import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRuntime, defineEntity, defineOperation, memoryLog, openStore } from '@ordo/core';
import { hypervisorAdapter, SimulatedHypervisor } from '@ordo/adapters/hypervisor';

// Every VM on one host entity: vm.powerOn reads all of the host's VMs (a capacity check),
// and every other commit on that host (a create, a powerOn, a powerOff) changes that read.
const Host = defineEntity('host', z.object({ name: z.string(), memoryMiB: z.number().int() }));
const Vm = defineEntity(
  'vm',
  z.object({ name: z.string(), vcpus: z.number().int(), memoryMiB: z.number().int(), power: z.enum(['on', 'off']), hostId: z.string().optional(), disks: z.array(z.string()), nics: z.array(z.object({ mac: z.string(), ip: z.string() })) }),
  { index: ['hostId'] },
);
const vmCreate = defineOperation({
  name: 'vm.create',
  input: z.object({ name: z.string(), hostId: z.string() }),
  plan(tx, input) {
    tx.require(Host, input.hostId);
    return tx.create(Vm, { name: input.name, vcpus: 1, memoryMiB: 32, power: 'off', hostId: input.hostId, disks: [], nics: [] }).id;
  },
});
const vmPowerOn = defineOperation({
  name: 'vm.powerOn',
  input: z.object({ vmId: z.string() }),
  plan(tx, input) {
    const vm = tx.require(Vm, input.vmId);
    const host = tx.require(Host, vm.data.hostId ?? '');
    const used = tx.find(Vm, { hostId: host.id }).reduce((sum, other) => sum + (other.data.power === 'on' ? other.data.memoryMiB : 0), 0);
    if (used + vm.data.memoryMiB > host.data.memoryMiB) throw new Error('host full');
    tx.update(Vm, vm.id, { power: 'on' });
  },
});
const vmPowerOff = defineOperation({
  name: 'vm.powerOff',
  input: z.object({ vmId: z.string() }),
  plan(tx, input) {
    tx.update(Vm, input.vmId, { power: 'off' });
  },
});

describe('one hot host', () => {
  it('16 callers creating, powering on and off VMs all on one host all get through, within the store default reruns', async () => {
    const store = await openStore({ entities: [Host, Vm], log: memoryLog() });
    const hypervisor = new SimulatedHypervisor();
    const runtime = await createRuntime({ store, adapters: [hypervisorAdapter({ hypervisor })], background: false });
    const { value: hostId } = await store.transact((tx) => tx.create(Host, { name: 'h1', memoryMiB: 1_000_000 }).id);
    const cycles = 25;
    const caller = async (index: number): Promise<void> => {
      for (let cycle = 0; cycle < cycles; cycle += 1) {
        const { value: vmId } = await runtime.run(vmCreate, { name: `vm-${index}-${cycle}`, hostId });
        await runtime.run(vmPowerOn, { vmId });
        if (cycle % 2 === 0) await runtime.run(vmPowerOff, { vmId });
      }
    };
    const outcomes = await Promise.allSettled(Array.from({ length: 16 }, (_, index) => caller(index)));
    const failures = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [String((outcome.reason as { code?: string }).code ?? outcome.reason)] : []));
    expect(failures).toEqual([]);
    const vms = store.list(Vm);
    expect(vms).toHaveLength(16 * cycles);
    expect(vms.filter((vm) => vm.data.power === 'on')).toHaveLength(16 * Math.floor(cycles / 2));
    expect(hypervisor.domains().filter((domain) => domain.state === 'running')).toHaveLength(16 * Math.floor(cycles / 2));
    await runtime.close();
    await store.close();
  });
});
