import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { StateDump } from '@ordo/core';
import { fileLog } from '@ordo/adapters/file';
import { SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { openControlPlane } from '../src/control-plane.js';
import { Vm } from '../src/entities/index.js';
import { vmCreate } from '../src/operations/index.js';

// test/fixtures/demo-log-v1 is the file log of the whole demo scenario, written by the release
// before Vm had schema versions (see test/fixtures/write-demo-log.ts). Vm is at version 2 now.
const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'demo-log-v1');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A control plane on a copy of the fixture log (opening for writing may change the directory). */
async function openCopy(dataDir?: string) {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'ordo-demo-v1-'));
  if (dataDir === undefined) {
    dirs.push(dir);
    cpSync(fixture, join(dir, 'log'), { recursive: true });
  }
  const plane = await openControlPlane({ log: fileLog({ dir: join(dir, 'log') }), hypervisor: new SimulatedHypervisor(), storageRoot: join(dir, 'storage') });
  return { plane, dir };
}

describe('the demo log of Vm version 1', () => {
  it('opens with Vm at version 2: every VM migrated to no labels, writes at version 2, store.migrate rewrites the rest', async () => {
    const { plane, dir } = await openCopy();
    const vms = plane.store.list(Vm);
    expect(vms.length).toBeGreaterThan(0);
    for (const vm of vms) expect(vm.data.labels).toEqual({});
    const before = plane.store.dump();
    const created = await plane.runtime.run(vmCreate, { name: 'labelled-1', vcpus: 1, memoryMiB: 256, labels: { team: 'storage' } });
    const vmId = (created.value as { vmId: string }).vmId;
    expect(plane.store.get(Vm, vmId)?.data.labels).toEqual({ team: 'storage' });
    const record = (await plane.store.read({ from: created.position, limit: 1 }))[0];
    expect(record?.changes.find((change) => change.kind === 'vm')).toMatchObject({ schemaVersion: 2 });
    expect(await plane.store.migrate(Vm)).toBe(vms.length);
    expect(await plane.store.migrate(Vm)).toBe(0);
    const after = plane.store.dump();
    await plane.close();
    // The rewrite changed versions, not data: the same VMs, and a reopen folds the same state.
    expect(after.entities.filter((entity) => entity.kind === 'vm' && entity.id !== vmId).map((entity) => entity.data)).toEqual(
      before.entities.filter((entity) => entity.kind === 'vm').map((entity) => entity.data),
    );
    // The runtimes' own records (a lease released at close, a new one at the reopen) differ by design.
    const reopened = await openCopy(dir);
    const again = reopened.plane.store.dump();
    expect(withoutRuntimeKinds(again)).toEqual(withoutRuntimeKinds(after));
    const requestIds = new Set(again.requests.map(([requestId]) => requestId));
    for (const [requestId] of after.requests) expect(requestIds.has(requestId), requestId).toBe(true);
    await reopened.plane.close();
  });
});

/** The entities and indexes of the example's own kinds, without the runtime's `ordo.*` kinds. */
function withoutRuntimeKinds(dump: StateDump): Pick<StateDump, 'entities' | 'indexes'> {
  const own = (kind: string): boolean => !kind.startsWith('ordo.');
  return {
    entities: dump.entities.filter((entity) => own(entity.kind)),
    indexes: Object.fromEntries(Object.entries(dump.indexes).filter(([key]) => own(key.slice(0, key.lastIndexOf('.'))))),
  };
}
