import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { givenEntity, operationSpecification, type GivenEntity, type OperationSpecification } from '@ordo/core/testing';
import { hypervisorAdapter, SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { directoryStorage, listVolumeFiles } from '@ordo/adapters/storage';
import { gibibyte } from '../src/datacenter.js';
import { entityTypes, Host, StorageContainer, Subnet, Vm, Volume } from '../src/entities/index.js';
import { macFor } from '../src/ip-allocation.js';

/**
 * Given / when / then for the control plane's operations: each scenario opens a store on a
 * memory log with the given entities, and the real storage and hypervisor adapters make the
 * volume files and the hosts' VMs match them before the operation runs. A failure must leave
 * the files and the hosts as they were (`observe`).
 */
export interface ControlPlaneSpecification {
  readonly spec: OperationSpecification;
  /** The hosts' agents: set faults or reachability before a scenario, look at VMs in its check. */
  readonly hypervisor: SimulatedHypervisor;
  readonly storageRoot: string;
  cleanup(): void;
}

export function controlPlaneSpecification(): ControlPlaneSpecification {
  const dir = mkdtempSync(join(tmpdir(), 'ordo-vm-spec-'));
  const storageRoot = join(dir, 'storage');
  const hypervisor = new SimulatedHypervisor();
  const spec = operationSpecification({
    entities: [...entityTypes],
    // Storage before the hypervisor, as in openControlPlane: a VM's disks exist before it is defined.
    adapters: () => [directoryStorage({ root: storageRoot }), hypervisorAdapter({ hypervisor })],
    observe: async () => ({ files: await listVolumeFiles(storageRoot), domains: hypervisor.domains() }),
  });
  return { spec, hypervisor, storageRoot, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The datacenter of `buildDatacenter` as given entities, with readable ids: hosts h1 (32
 * threads, 64 GiB), h2 (16, 32 GiB), h3 (8, 8 GiB); thin containers fast (500 GiB) and small
 * (20 GiB); subnets prod (10.0.0.0/24, pool .10-.200) and tiny (pool 10.0.9.2-3).
 */
export const datacenter: readonly GivenEntity[] = [
  host('h1', { cpuThreads: 32, memoryMiB: 65_536 }),
  host('h2', { cpuThreads: 16, memoryMiB: 32_768 }),
  host('h3', { cpuThreads: 8, memoryMiB: 8_192 }),
  givenEntity(StorageContainer, 'fast', { name: 'fast', maxCapacityBytes: 500 * gibibyte, thin: true }),
  givenEntity(StorageContainer, 'small', { name: 'small', maxCapacityBytes: 20 * gibibyte, thin: true }),
  givenEntity(Subnet, 'prod', { name: 'prod', cidr: '10.0.0.0/24', gateway: '10.0.0.1', pools: [{ start: '10.0.0.10', end: '10.0.0.200' }], reserved: ['10.0.0.2', '10.0.0.3'] }),
  givenEntity(Subnet, 'tiny', { name: 'tiny', cidr: '10.0.9.0/29', gateway: '10.0.9.1', pools: [{ start: '10.0.9.2', end: '10.0.9.3' }], reserved: [] }),
];

export function host(id: string, data: { cpuThreads: number; memoryMiB: number; maintenance?: boolean }): GivenEntity {
  return givenEntity(Host, id, { name: id, maintenance: false, ...data });
}

/** A VM named as its id, off and on no host unless told; `ips` are addresses in subnet prod or tiny. */
export function vm(id: string, data: { memoryMiB: number; vcpus?: number; hostId?: string; power?: 'on' | 'off'; disks?: string[]; ips?: { subnetId: string; ip: string }[] }): GivenEntity {
  const { ips = [], ...rest } = data;
  const nics = ips.map((nic, index) => ({ ...nic, mac: macFor(id, index) }));
  return givenEntity(Vm, id, { name: id, vcpus: 2, power: 'off', disks: [], nics, ...rest });
}

/** A volume named as its id, attached to `vmId` when given. */
export function volume(id: string, data: { containerId: string; sizeBytes: number; vmId?: string }): GivenEntity {
  const { vmId, ...rest } = data;
  return givenEntity(Volume, id, { name: id, ...rest, ...(vmId === undefined ? {} : { attachment: { vmId } }) });
}
