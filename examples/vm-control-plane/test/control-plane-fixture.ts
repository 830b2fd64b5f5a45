import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { memoryLog, type LogStore, type OrdoError } from '@ordo/core';
import { SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { listVolumeFiles } from '@ordo/adapters/storage';
import { findDisagreements } from '../src/agreement.js';
import { openControlPlane, type ControlPlane } from '../src/control-plane.js';
import { buildDatacenter, type Datacenter } from '../src/datacenter.js';

export interface Fixture extends ControlPlane {
  readonly hypervisor: SimulatedHypervisor;
  readonly log: LogStore;
  readonly storageRoot: string;
  readonly dc: Datacenter;
  cleanup(): Promise<void>;
}

/** The runtime name of the fixture's control plane: a control plane reopened under it takes over what it left. */
export const fixtureName = 'fixture';

/** A control plane on a memory log with real volume files in a temporary directory, and a datacenter in it. */
export async function freshControlPlane(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'ordo-vm-control-plane-'));
  const storageRoot = join(dir, 'storage');
  const hypervisor = new SimulatedHypervisor();
  const log = memoryLog();
  // No background renewals: a test compares whole dumps before and after, and the runtime is alone on its log.
  const plane = await openControlPlane({ log, hypervisor, storageRoot, name: fixtureName, runtime: { background: false, entityBusyWaitMs: 100 } });
  const dc = await buildDatacenter(plane.runtime);
  return {
    ...plane,
    hypervisor,
    log,
    storageRoot,
    dc,
    async cleanup() {
      await plane.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `attempt`, expects it to reject with `code`, and checks that nothing changed: the
 * store's whole dump (entities, indexes, requests, position: no record written), the volume
 * files and the hypervisor's VMs.
 */
export async function expectRejectedUnchanged(fixture: Fixture, code: string, attempt: () => Promise<unknown>): Promise<OrdoError & Record<string, unknown>> {
  const before = { dump: fixture.store.dump(), files: await listVolumeFiles(fixture.storageRoot), domains: fixture.hypervisor.domains() };
  const error = await attempt().then(
    () => {
      throw new Error(`expected ${code}, but the operation succeeded`);
    },
    (rejection: unknown) => rejection as OrdoError & Record<string, unknown>,
  );
  expect(error.code, error.message).toBe(code);
  expect(fixture.store.dump()).toEqual(before.dump);
  expect(await listVolumeFiles(fixture.storageRoot)).toEqual(before.files);
  expect(fixture.hypervisor.domains()).toEqual(before.domains);
  return error;
}

export async function expectAgreement(fixture: Pick<Fixture, 'store' | 'hypervisor' | 'storageRoot'>): Promise<void> {
  expect(await findDisagreements(fixture.store, fixture.hypervisor, fixture.storageRoot)).toEqual([]);
}
