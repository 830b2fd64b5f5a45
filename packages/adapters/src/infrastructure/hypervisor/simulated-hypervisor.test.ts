import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HypervisorFault, SimulatedHypervisor } from './simulated-hypervisor.js';

const spec = { name: 'a', vcpus: 1, memoryMiB: 512, disks: [], nics: [] };
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('SimulatedHypervisor', () => {
  it('keeps VMs per host, defined, running or stopped; every call is idempotent', async () => {
    const hypervisor = new SimulatedHypervisor();
    await hypervisor.define('h1', 'vm1', spec);
    await hypervisor.define('h1', 'vm1', spec);
    await hypervisor.start('h1', 'vm1', 'a');
    await hypervisor.start('h1', 'vm1', 'a');
    expect(hypervisor.domains()).toEqual([{ hostId: 'h1', id: 'vm1', spec, state: 'running' }]);
    await hypervisor.stop('h1', 'vm1', 'a');
    expect(hypervisor.domain('h1', 'vm1')?.state).toBe('stopped');
    await hypervisor.undefine('h1', 'vm1', 'a');
    await hypervisor.undefine('h1', 'vm1', 'a');
    expect(hypervisor.locate('vm1')).toEqual([]);
    await expect(hypervisor.start('h1', 'vm1', 'a')).rejects.toBeInstanceOf(HypervisorFault);
  });

  it('fencing: a host agent refuses a call with a token older than the newest it applied to the VM, also after undefine and a reload', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ordo-hv-fence-'));
    dirs.push(dir);
    const stateFile = join(dir, 'state.json');
    const hypervisor = new SimulatedHypervisor({ stateFile });
    await hypervisor.define('h1', 'vm1', spec, { token: { position: 4, epoch: 1 } });
    await expect(hypervisor.start('h1', 'vm1', 'a', { token: { position: 4, epoch: 0 } })).rejects.toMatchObject({ code: 'STALE_FENCING_TOKEN', details: { appliedPosition: 4, appliedEpoch: 1 } });
    expect(hypervisor.domain('h1', 'vm1')?.state).toBe('stopped');
    await hypervisor.undefine('h1', 'vm1', 'a', { token: { position: 6, epoch: 0 } });
    const reloaded = new SimulatedHypervisor({ stateFile });
    await expect(reloaded.define('h1', 'vm1', spec, { token: { position: 5, epoch: 3 } })).rejects.toMatchObject({ code: 'STALE_FENCING_TOKEN' });
    expect(reloaded.locate('vm1')).toEqual([]);
    await reloaded.define('h1', 'vm1', spec, { token: { position: 7, epoch: 0 } });
    expect(reloaded.fencingToken('h1', 'vm1')).toEqual({ position: 7, epoch: 0 });
  });

  it('failNextApply fails the next call for that VM (by id or name) once; failAfter fails every call after N', async () => {
    const hypervisor = new SimulatedHypervisor();
    hypervisor.failNextApply('a', 'boom');
    await expect(hypervisor.define('h1', 'vm1', spec)).rejects.toThrow('boom');
    await hypervisor.define('h1', 'vm1', spec);
    hypervisor.failNextApply('vm1');
    await expect(hypervisor.start('h1', 'vm1', 'a')).rejects.toBeInstanceOf(HypervisorFault);
    hypervisor.failAfter(2);
    await hypervisor.start('h1', 'vm1', 'a');
    await hypervisor.stop('h1', 'vm1', 'a');
    await expect(hypervisor.start('h1', 'vm1', 'a')).rejects.toThrow('after N calls');
    await expect(hypervisor.start('h1', 'vm1', 'a')).rejects.toThrow('after N calls');
    hypervisor.clearFaults();
    await hypervisor.start('h1', 'vm1', 'a');
    expect(hypervisor.calls).toBe(8);
  });

  it('an unreachable host refuses calls; latency delays every call', async () => {
    const hypervisor = new SimulatedHypervisor({ latencyMs: 20 });
    hypervisor.setReachable('h1', false);
    expect(hypervisor.isReachable('h1')).toBe(false);
    await expect(hypervisor.define('h1', 'vm1', spec)).rejects.toThrow('unreachable');
    hypervisor.setReachable('h1', true);
    const started = performance.now();
    await hypervisor.define('h1', 'vm1', spec);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    expect(() => hypervisor.setLatency(-1)).toThrow();
  });

  it('with a state file, a new instance finds the hosts as they were (they outlive the control plane)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ordo-hypervisor-'));
    dirs.push(dir);
    const stateFile = join(dir, 'agents.json');
    const first = new SimulatedHypervisor({ stateFile });
    await first.define('h1', 'vm1', spec);
    await first.start('h1', 'vm1', 'a');
    const second = new SimulatedHypervisor({ stateFile });
    expect(second.domains()).toEqual(first.domains());
  });
});
