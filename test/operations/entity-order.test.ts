import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRuntime, defineEntity, defineOperation, isOperationError, memoryLog, openStore, type InfrastructureAdapter } from '@ordo/core';
import { hypervisorAdapter, SimulatedHypervisor } from '@ordo/adapters/hypervisor';

const Host = defineEntity('host', z.object({ name: z.string() }));
const Vm = defineEntity('vm', z.object({ name: z.string(), vcpus: z.number().int(), memoryMiB: z.number().int(), power: z.enum(['on', 'off']), hostId: z.string().optional(), disks: z.array(z.string()), nics: z.array(z.object({ mac: z.string(), ip: z.string() })) }));

const setup = defineOperation({
  name: 'test.setup',
  input: z.object({}),
  plan(tx) {
    tx.create(Host, { name: 'h1' }, { id: 'h1' });
    return tx.create(Vm, { name: 'vm', vcpus: 1, memoryMiB: 256, power: 'off', hostId: 'h1', disks: [], nics: [] }).id;
  },
});
const setPower = defineOperation({
  name: 'vm.setPower',
  input: z.object({ vmId: z.string(), power: z.enum(['on', 'off']) }),
  plan(tx, input) {
    tx.update(Vm, input.vmId, { power: input.power });
  },
});

describe('two runtimes on one log, one VM', () => {
  it('racing powerOn and powerOff: each waits for the other or gets ENTITY_BUSY, and the hypervisor sees the changes in position order', async () => {
    const log = memoryLog();
    // One simulated hypervisor (the hosts) shared by both control planes, with 2 ms per agent call.
    const hypervisor = new SimulatedHypervisor({ latencyMs: 2 });
    const seen: number[] = [];
    const adapter = hypervisorAdapter({ hypervisor });
    const recording: InfrastructureAdapter = {
      ...adapter,
      async apply(input) {
        seen.push(input.position);
        await adapter.apply(input);
      },
    };
    const open = async (entityBusyWaitMs: number) => {
      const store = await openStore({ entities: [Host, Vm], log });
      return { store, runtime: await createRuntime({ store, adapters: [recording], background: false, entityBusyWaitMs }) };
    };
    const one = await open(5_000);
    const other = await open(0);
    const vmId = (await one.runtime.run(setup, {})).value;
    await other.store.sync();
    const outcomes: string[] = [];
    const race = async (side: typeof one, power: 'on' | 'off') => {
      try {
        const { position } = await side.runtime.run(setPower, { vmId, power });
        outcomes.push(`${power}@${position}`);
      } catch (error) {
        if (!isOperationError(error, 'ENTITY_BUSY')) throw error;
        outcomes.push('busy');
      }
    };
    for (let round = 0; round < 20; round += 1) await Promise.all([race(one, 'on'), race(other, 'off'), race(one, 'off'), race(other, 'on')]);
    // The patient runtime's calls always got through; the impatient one's got through or were refused.
    expect(outcomes.filter((outcome) => outcome !== 'busy').length).toBeGreaterThanOrEqual(40);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    const last = outcomes.filter((outcome) => outcome !== 'busy').sort((a, b) => Number(a.split('@')[1]) - Number(b.split('@')[1])).at(-1);
    await one.store.sync();
    expect(one.store.get(Vm, vmId)?.data.power).toBe(last?.split('@')[0]);
    expect(hypervisor.domain('h1', vmId)?.state).toBe(last?.startsWith('on') === true ? 'running' : 'stopped');
  });
});
