import { z } from 'zod';
import { defineEntity, defineOperation, OperationError } from '@ordo/core';

// The entity types and operations the ordo-operations benchmarks run (suites/operations.ts, vm-lifecycle.ts).
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

export const vmPowerOff = defineOperation({
  name: 'vm.powerOff',
  input: z.object({ vmId: z.string() }),
  plan(tx, input) {
    tx.update(Vm, input.vmId, { power: 'off' });
  },
});

export const vmDelete = defineOperation({
  name: 'vm.delete',
  input: z.object({ vmId: z.string() }),
  plan(tx, input) {
    tx.delete(Vm, input.vmId);
  },
});
