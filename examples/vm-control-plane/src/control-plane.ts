import { createRuntime, openStore, type CreateRuntimeOptions, type LogStore, type OperationRuntime, type Store } from '@ordo/core';
import { hypervisorAdapter, type SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { directoryStorage } from '@ordo/adapters/storage';
import { entityTypes } from './entities/index.js';

export interface ControlPlaneOptions {
  readonly log: LogStore;
  /** The hosts' agents (simulated infrastructure). */
  readonly hypervisor: SimulatedHypervisor;
  /** The directory that holds the storage containers' volume files. */
  readonly storageRoot: string;
  /**
   * This control plane's stable name: restarted under the same name, it takes over what its
   * previous process left unsettled at once, instead of after its lease expires.
   */
  readonly name?: string;
  /** Runtime options for tests (lease length...). */
  readonly runtime?: Omit<CreateRuntimeOptions, 'store' | 'adapters' | 'name'>;
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
      ...options.runtime,
      name: options.name,
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
