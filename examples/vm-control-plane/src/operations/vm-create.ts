import { defineOperation, type Transaction } from '@ordo/core';
import { z } from 'zod';
import { requireContainerRoom } from '../container-capacity.js';
import { Vm, Volume, vmDisksMax, vmNicsMax } from '../entities/index.js';
import { allocateAddress, claimAddress, macFor, usedAddresses, type AddressHolder } from '../ip-allocation.js';
import { requireContainer, requireFreeName, requireHost, requireSubnet, requireVolume } from '../lookups.js';
import { fail, ref } from '../operation-failure.js';

const newDiskInput = z.object({ name: z.string().min(1).max(63), containerId: z.string().min(1), sizeBytes: z.number().int().positive() }).strict();
const nicInput = z.object({ subnetId: z.string().min(1), ip: z.ipv4().optional() }).strict();

/**
 * Creates a VM (powered off), attaches existing volumes (`disks`), creates and attaches new
 * ones (`newDisks`), and gives each NIC an address: the one asked for, or the lowest free one
 * of the subnet's pools. With `hostId` it is defined on that host right away.
 */
export const vmCreate = defineOperation({
  name: 'vm.create',
  input: z
    .object({
      name: z.string().min(1).max(63),
      vcpus: z.number().int().positive().max(256),
      memoryMiB: z.number().int().positive(),
      hostId: z.string().min(1).optional(),
      disks: z.array(z.string().min(1)).max(vmDisksMax).default([]),
      newDisks: z.array(newDiskInput).max(vmDisksMax).default([]),
      nics: z.array(nicInput).max(vmNicsMax).default([]),
    })
    .strict(),
  plan(tx, input) {
    requireFreeName(tx, Vm, input.name);
    if (input.hostId !== undefined) requireHost(tx, input.hostId);
    for (const volumeId of input.disks) requireDetached(tx, volumeId);
    const nics = addressNics(tx, input.name, input.nics);
    const vm = tx.create(Vm, {
      name: input.name,
      vcpus: input.vcpus,
      memoryMiB: input.memoryMiB,
      power: 'off',
      ...(input.hostId === undefined ? {} : { hostId: input.hostId }),
      disks: input.disks,
      nics,
    });
    for (const volumeId of input.disks) tx.update(Volume, volumeId, { attachment: { vmId: vm.id } });
    const created = input.newDisks.map((disk) => {
      requireFreeName(tx, Volume, disk.name);
      requireContainerRoom(tx, requireContainer(tx, disk.containerId), disk.sizeBytes);
      return tx.create(Volume, { ...disk, attachment: { vmId: vm.id } }).id;
    });
    if (created.length > 0) tx.update(Vm, vm.id, { disks: [...input.disks, ...created] });
    return { vmId: vm.id, ips: nics.map((nic) => nic.ip), volumeIds: created };
  },
});

function requireDetached(tx: Transaction, volumeId: string): void {
  const volume = requireVolume(tx, volumeId);
  const attachment = volume.data.attachment;
  if (attachment !== undefined) {
    fail({
      code: 'VOLUME_ALREADY_ATTACHED',
      message: `volume ${volume.data.name} is already attached to VM ${attachment.vmId}`,
      details: { volume: ref('volume', volume.id), conflicting: ref('vm', attachment.vmId) },
      entity: ref('volume', volume.id),
    });
  }
}

function addressNics(tx: Transaction, vmName: string, nics: readonly z.output<typeof nicInput>[]): { subnetId: string; mac: string; ip: string }[] {
  const usedBySubnet = new Map<string, Map<string, AddressHolder>>();
  return nics.map((nic, index) => {
    const subnet = requireSubnet(tx, nic.subnetId);
    let used = usedBySubnet.get(subnet.id);
    if (used === undefined) {
      used = usedAddresses(tx, subnet.id);
      usedBySubnet.set(subnet.id, used);
    }
    const ip = nic.ip === undefined ? allocateAddress(subnet, used) : claimAddress(subnet, nic.ip, used);
    // Two NICs of this VM must not share an address either; the VM has no id yet.
    used.set(ip, { id: '(new)', name: `${vmName} (this VM, another NIC)` });
    return { subnetId: subnet.id, mac: macFor(vmName, index), ip };
  });
}
