import { createRuntime, openStore, type CreateRuntimeOptions, type InfrastructureAdapter, type LogStore, type OperationRuntime, type Store } from '@ordo/core';
import { hypervisorAdapter, SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { libvirtHypervisor, type VirshRunner } from '@ordo/adapters/libvirt';
import { directoryStorage } from '@ordo/adapters/storage';
import { entityTypes } from './entities/index.js';

/** Real hosts through libvirt: each host entity's `libvirtUri` names its connection. */
export interface LibvirtChoice {
  readonly libvirt: {
    /** How much more memory than a host really has its running VMs may claim. Default 1. */
    readonly memoryOvercommit?: number;
    readonly virsh?: VirshRunner;
  };
}

export interface ControlPlaneOptions {
  readonly log: LogStore;
  /** The hosts: simulated agents, or real ones through libvirt. */
  readonly hypervisor: SimulatedHypervisor | LibvirtChoice;
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

/** The hypervisor adapter for the chosen hosts. */
export function hypervisorFor(options: Pick<ControlPlaneOptions, 'hypervisor' | 'storageRoot'>): InfrastructureAdapter {
  const { hypervisor } = options;
  if (hypervisor instanceof SimulatedHypervisor) return hypervisorAdapter({ hypervisor });
  return libvirtHypervisor({ storageRoot: options.storageRoot, ...hypervisor.libvirt });
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
      // On libvirt, a volume of a running VM is resized by the hypervisor (its image is locked).
      adapters: [directoryStorage({ root: options.storageRoot, ...(options.hypervisor instanceof SimulatedHypervisor ? {} : { lockedImageResize: 'hypervisor' as const }) }), hypervisorFor(options)],
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
