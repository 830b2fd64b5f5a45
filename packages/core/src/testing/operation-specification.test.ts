import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineEntity, defineOperation, OperationError, type InfrastructureAdapter } from '../index.js';
import { mismatch, mismatchUnordered } from './match-pattern.js';
import { givenEntity, operationSpecification, SpecificationMismatchError } from './index.js';

const Host = defineEntity('host', z.object({ name: z.string(), memoryMiB: z.number().int() }), { unique: ['name'] });
const Vm = defineEntity('vm', z.object({ name: z.string(), hostId: z.string(), memoryMiB: z.number().int(), power: z.enum(['on', 'off']) }), {
  unique: ['name'],
  index: ['hostId'],
});

const vmPowerOn = defineOperation({
  name: 'vm.powerOn',
  input: z.object({ vmId: z.string() }),
  plan(tx, { vmId }) {
    const vm = tx.require(Vm, vmId);
    const host = tx.require(Host, vm.data.hostId);
    const used = tx.find(Vm, { hostId: host.id }).filter((other) => other.data.power === 'on').reduce((sum, other) => sum + other.data.memoryMiB, 0);
    const free = host.data.memoryMiB - used;
    if (free < vm.data.memoryMiB) {
      throw new OperationError({ code: 'INSUFFICIENT_HOST_MEMORY', message: `host ${host.data.name} has ${free} MiB free`, details: { requested: vm.data.memoryMiB, available: free } });
    }
    tx.update(Vm, vmId, { power: 'on' });
    return { hostId: host.id };
  },
});

const vmRename = defineOperation({
  name: 'vm.rename',
  input: z.object({ vmId: z.string(), name: z.string() }),
  plan(tx, { vmId, name }) {
    tx.update(Vm, vmId, { name });
  },
});

const noop = defineOperation({ name: 'noop', input: z.object({}), plan: () => 'nothing' });

const world = [
  givenEntity(Host, 'h1', { name: 'h1', memoryMiB: 4096 }),
  givenEntity(Vm, 'a', { name: 'a', hostId: 'h1', memoryMiB: 3072, power: 'on' }),
  givenEntity(Vm, 'b', { name: 'b', hostId: 'h1', memoryMiB: 2048, power: 'off' }),
  givenEntity(Vm, 'c', { name: 'c', hostId: 'h1', memoryMiB: 1024, power: 'off' }),
];

/** A real, if small, piece of infrastructure: the set of running VMs, kept by an adapter that reads it from the view. */
function runningVms(options: { failApply?: boolean; undo?: boolean } = {}): { running: Set<string>; adapter: InfrastructureAdapter } {
  const running = new Set<string>();
  const adapter: InfrastructureAdapter = {
    name: 'power',
    kinds: ['vm'],
    apply({ changes }) {
      for (const change of changes) {
        const powered = change.after?.data['power'] === 'on';
        if (powered) running.add(change.id);
        else if (options.undo !== false) running.delete(change.id);
      }
      if (options.failApply === true && changes.some((change) => change.after?.data['power'] === 'on')) throw new Error('the host refused');
    },
    reconcile({ view }) {
      running.clear();
      for (const vm of view.list('vm')) if (vm.data['power'] === 'on') running.add(vm.id);
    },
  };
  return { running, adapter };
}

describe('operationSpecification', () => {
  const spec = operationSpecification({ entities: [Host, Vm] });

  it('thenCommits: checks the changes of the operation record in any order, and the value', async () => {
    const scenario = await spec
      .given(world)
      .when(vmPowerOn, { vmId: 'c' })
      .thenCommits({ changes: [{ op: 'update', kind: 'vm', id: 'c', version: 2, data: { power: 'on' } }], value: { hostId: 'h1' } }, ({ store }) => {
        expect(store.get(Vm, 'c')?.data.power).toBe('on');
      });
    expect(scenario.value).toEqual({ hostId: 'h1' });
    expect(scenario.record?.operation).toBe('vm.powerOn');
    expect(scenario.record?.changes).toHaveLength(1);
  });

  it('thenCommits: a plan that changes nothing has no record and matches changes []', async () => {
    const scenario = await spec.given().when(noop, {}).thenCommits({ changes: [], value: 'nothing' });
    expect(scenario.record).toBeUndefined();
  });

  it('thenCommits: rejects other changes, another value, a missing change, and a failure, naming the path', async () => {
    const when = spec.given(world).when(vmPowerOn, { vmId: 'c' });
    await expect(when.thenCommits({ changes: [{ id: 'c', data: { power: 'off' } }] })).rejects.toThrow(/changes: nothing matches/);
    await expect(when.thenCommits({ changes: [{ id: 'c' }, { id: 'b' }] })).rejects.toThrow(/expected 2 items, got 1/);
    await expect(when.thenCommits({ value: { hostId: 'h2' } })).rejects.toThrow(/value\.hostId: expected "h2", got "h1"/);
    const failing = spec.given(world).when(vmPowerOn, { vmId: 'b' }).thenCommits({ changes: [] });
    await expect(failing).rejects.toBeInstanceOf(SpecificationMismatchError);
    await expect(failing).rejects.toThrow(/expected the operation to commit, but it failed: INSUFFICIENT_HOST_MEMORY/);
  });

  it('thenCommits: a check that throws fails the scenario', async () => {
    const scenario = spec.given(world).when(vmPowerOn, { vmId: 'c' }).thenCommits({}, ({ store }) => {
      expect(store.get(Vm, 'c')?.data.power).toBe('off');
    });
    await expect(scenario).rejects.toThrow(/expected 'on' to be 'off'/);
  });

  it('thenFails: checks the code and the fields of the error, and that nothing was written', async () => {
    const failed = await spec.given(world).when(vmPowerOn, { vmId: 'b' }).thenFails('INSUFFICIENT_HOST_MEMORY', { step: 'plan', details: { requested: 2048, available: 1024 } });
    expect(failed.error).toBeInstanceOf(OperationError);
    await spec.given(world).when(vmPowerOn, { vmId: 'nope' }).thenFails('NOT_FOUND', { kind: 'vm', id: 'nope' });
    await spec.given(world).when(vmPowerOn, { vmId: 7 } as never).thenFails('VALIDATION_FAILED', { kind: 'vm.powerOn' });
  });

  it('thenFails: rejects another code, other details, and a success', async () => {
    const when = spec.given(world).when(vmPowerOn, { vmId: 'b' });
    await expect(when.thenFails('IP_ALREADY_IN_USE')).rejects.toThrow(/expected IP_ALREADY_IN_USE, got INSUFFICIENT_HOST_MEMORY/);
    await expect(when.thenFails('INSUFFICIENT_HOST_MEMORY', { details: { available: 2048 } })).rejects.toThrow(/error\.details\.available: expected 2048, got 1024/);
    await expect(spec.given(world).when(vmPowerOn, { vmId: 'c' }).thenFails('INSUFFICIENT_HOST_MEMORY')).rejects.toThrow(/but it committed at position 3/);
    await expect(spec.given(world).when(vmRename, { vmId: 'c', name: 'a' }).thenFails('UNIQUE_VIOLATION', { field: 'name', existingId: 'a' })).resolves.toBeDefined();
  });

  it('given entities reach the adapters through reconcile, and scenarios share nothing', async () => {
    let power = runningVms();
    const withAdapter = operationSpecification({ entities: [Host, Vm], adapters: () => [(power = runningVms()).adapter], observe: () => [...power.running].sort() });
    await withAdapter.given(world).when(vmPowerOn, { vmId: 'c' }).thenCommits({}, () => {
      expect([...power.running].sort()).toEqual(['a', 'c']);
    });
    await withAdapter.given([givenEntity(Host, 'h1', { name: 'h1', memoryMiB: 1024 })]).when(noop, {}).thenCommits({ changes: [] }, ({ store }) => {
      expect(store.list(Vm)).toEqual([]);
      expect([...power.running]).toEqual([]);
    });
  });

  it('thenFails after apply: the compensation may write, but entities and observed infrastructure must be as before', async () => {
    let power = runningVms({ failApply: true });
    const spec = operationSpecification({ entities: [Host, Vm], adapters: () => [(power = runningVms({ failApply: true })).adapter], observe: () => [...power.running].sort() });
    await spec.given(world).when(vmPowerOn, { vmId: 'c' }).thenFails('ADAPTER_FAILED', { step: 'apply', adapter: 'power' }, ({ store }) => {
      expect(store.position).toBeGreaterThan(2);
    });
    // An adapter that does not undo leaves infrastructure behind: observe catches it.
    const leaky = operationSpecification({ entities: [Host, Vm], adapters: () => [(power = runningVms({ failApply: true, undo: false })).adapter], observe: () => [...power.running].sort() });
    await expect(leaky.given(world).when(vmPowerOn, { vmId: 'c' }).thenFails('ADAPTER_FAILED')).rejects.toThrow(/observed infrastructure: expected 1 elements, got 2/);
  });
});

describe('match patterns', () => {
  it('matches objects partially, arrays whole, values exactly', () => {
    expect(mismatch({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] } }, 'x')).toBeUndefined();
    expect(mismatch({ a: 1 }, { a: 2 }, 'x')).toBe('x.a: expected 2, got 1');
    expect(mismatch({ a: [1, 2, 3] }, { a: [1, 2] }, 'x')).toMatch(/x\.a: expected 2 elements, got 3/);
    expect(mismatch({ a: 1 }, { b: undefined }, 'x')).toBeUndefined();
    expect(mismatch(null, { a: 1 }, 'x')).toBe('x: expected an object, got null');
    expect(mismatch(Number.NaN, Number.NaN, 'x')).toBeUndefined();
  });

  it('pairs patterns with items in any order, without letting a loose pattern take the only fit of a strict one', () => {
    const items = [{ id: 'a', op: 'update' }, { id: 'b', op: 'update' }];
    expect(mismatchUnordered(items, [{ op: 'update' }, { id: 'a' }], 'c')).toBeUndefined();
    expect(mismatchUnordered(items, [{ id: 'b' }, { id: 'a' }], 'c')).toBeUndefined();
    expect(mismatchUnordered(items, [{ id: 'a' }, { id: 'a' }], 'c')).toMatch(/c: nothing matches \{"id":"a"\}/);
  });
});
