import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { OperationError } from '@ordo/core';
import { postgresLog } from '@ordo/adapters/postgres';
import { SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { describePostgres, dropSchemas, pgUrl, uniqueSchema } from '../../../test/postgres/pg-test-env.js';
import { findDisagreements } from '../src/agreement.js';
import { openControlPlane } from '../src/control-plane.js';
import { buildDatacenter, gibibyte } from '../src/datacenter.js';
import { Vm } from '../src/entities/index.js';
import { vmCreate, vmPowerOff, vmPowerOn } from '../src/operations/index.js';

const schemas: string[] = [];
afterAll(async () => {
  await dropSchemas(schemas);
});

describePostgres('two control planes on one PostgreSQL log', () => {
  it('both run operations on the same datacenter and toggle the same VMs at once; both see the same VMs, and the hosts and files agree with the log', async () => {
    const schema = uniqueSchema('example_two');
    schemas.push(schema);
    const dir = mkdtempSync(join(tmpdir(), 'ordo-two-planes-'));
    // One datacenter: the hosts' agents and the storage directory are shared by both planes.
    const hypervisor = new SimulatedHypervisor({ latencyMs: 1 });
    const storageRoot = join(dir, 'storage');
    const open = (name: string) => openControlPlane({ log: postgresLog({ connectionString: pgUrl, schema }), hypervisor, storageRoot, name, runtime: { entityBusyWaitMs: 2_000 } });
    const east = await open('east');
    const west = await open('west');
    try {
      const dc = await buildDatacenter(east.runtime);
      await west.store.sync();
      const planes = [east, west];
      const created = await Promise.all(
        Array.from({ length: 8 }, (_, index) =>
          planes[index % 2]!.runtime.run(vmCreate, { name: `vm-${index}`, vcpus: 1, memoryMiB: 1024, hostId: dc.hosts.h1, newDisks: [{ name: `vm-${index}-root`, containerId: dc.containers.fast, sizeBytes: gibibyte }] }),
        ),
      );
      const vmIds = created.map((result) => result.value.vmId);
      await west.store.sync();
      // Both planes power the same VMs on and off at once: each change waits for the one before.
      const toggles = vmIds.flatMap((vmId) => [east.runtime.run(vmPowerOn, { vmId }), west.runtime.run(vmPowerOff, { vmId }), west.runtime.run(vmPowerOn, { vmId })]);
      const outcomes = await Promise.allSettled(toggles);
      for (const outcome of outcomes) {
        // A toggle may find the VM already in that state, or still held: refused at plan, nothing written.
        if (outcome.status === 'rejected' && !(outcome.reason instanceof OperationError && outcome.reason.step === 'plan')) throw outcome.reason;
      }
      await Promise.all(planes.map((plane) => plane.store.sync()));
      expect(west.store.list(Vm)).toEqual(east.store.list(Vm));
      expect(east.store.list(Vm)).toHaveLength(8);
      expect(await findDisagreements(east.store, hypervisor, storageRoot)).toEqual([]);
      expect(await findDisagreements(west.store, hypervisor, storageRoot)).toEqual([]);
    } finally {
      await west.close();
      await east.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
