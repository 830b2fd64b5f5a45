import { createRuntime, openStore, type LogStore, type OperationRuntime, type Store } from '@ordo/core';
import { hypervisorAdapter, type SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { directoryStorage } from '@ordo/adapters/storage';
import { entityTypes } from './entities/index.js';

export interface ControlPlaneOptions {
  readonly log: LogStore;
  /** The hosts' agents (simulated infrastructure). */
  readonly hypervisor: SimulatedHypervisor;
  /** The directory that holds the storage containers' volume files. */
  readonly storageRoot: string;
}

export interface ControlPlane {
  readonly store: Store;
  readonly runtime: OperationRuntime;
  close(): Promise<void>;
}

/**
 * Opens the store and the runtime with the two adapters. Storage applies before the
 * hypervisor (a VM's disks exist before it is defined) and is undone after it.
 */
export async function openControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const store = await openStore({ entities: [...entityTypes], log: options.log });
  try {
    const runtime = await createRuntime({
      store,
      adapters: [directoryStorage({ root: options.storageRoot }), hypervisorAdapter({ hypervisor: options.hypervisor })],
    });
    return {
      store,
      runtime,
      async close() {
        await runtime.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
