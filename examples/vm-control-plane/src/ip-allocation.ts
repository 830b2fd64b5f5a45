import type { EntityOf, Transaction } from '@ordo/core';
import { Vm, type Subnet } from './entities/index.js';
import { cidrRange, ipToNumber, isHostAddress, numberToIp } from './ipv4.js';
import { fail, ref } from './operation-failure.js';

/** The most addresses one pool scan looks at before giving up with IP_POOL_EXHAUSTED. */
export const poolScanAddressesMax = 65_536;

/** Who holds an address: a VM's id and name. */
export interface AddressHolder {
  readonly id: string;
  readonly name: string;
}

/** Addresses of a subnet held by VMs, as this transaction sees them. */
export function usedAddresses(tx: Transaction, subnetId: string): Map<string, AddressHolder> {
  const used = new Map<string, AddressHolder>();
  // A list of all VMs is a predicate read: a VM committed concurrently with an address makes this plan rerun.
  for (const vm of tx.list(Vm)) {
    for (const nic of vm.data.nics) if (nic.subnetId === subnetId) used.set(nic.ip, { id: vm.id, name: vm.data.name });
  }
  return used;
}

/** Checks an address the caller asked for: in the subnet, not reserved, not taken. */
export function claimAddress(subnet: EntityOf<typeof Subnet>, ip: string, used: ReadonlyMap<string, AddressHolder>): string {
  const subnetRef = ref('subnet', subnet.id);
  if (!isHostAddress(ip, subnet.data.cidr)) {
    fail({ code: 'IP_NOT_IN_SUBNET', message: `${ip} is not a host address of subnet ${subnet.data.name} (${subnet.data.cidr})`, details: { ip, cidr: subnet.data.cidr, subnet: subnetRef }, entity: subnetRef });
  }
  const holder = used.get(ip);
  if (holder !== undefined) {
    const conflicting = ref('vm', holder.id);
    fail({ code: 'IP_ALREADY_IN_USE', message: `${ip} in subnet ${subnet.data.name} is already used by VM ${holder.name}`, details: { ip, subnet: subnetRef, conflicting, conflictingName: holder.name }, entity: conflicting });
  }
  if (ip === subnet.data.gateway || subnet.data.reserved.includes(ip)) {
    const what = ip === subnet.data.gateway ? 'gateway' : 'reserved';
    fail({ code: 'IP_ALREADY_IN_USE', message: `${ip} is the ${what} address of subnet ${subnet.data.name}`, details: { ip, subnet: subnetRef, conflicting: what }, entity: subnetRef });
  }
  return ip;
}

/** The lowest free address of the subnet's pools. */
export function allocateAddress(subnet: EntityOf<typeof Subnet>, used: ReadonlyMap<string, AddressHolder>): string {
  const { first, last } = cidrRange(subnet.data.cidr);
  const blocked = new Set([subnet.data.gateway, ...subnet.data.reserved]);
  let scanned = 0;
  for (const pool of subnet.data.pools) {
    const start = Math.max(ipToNumber(pool.start), first + 1);
    const end = Math.min(ipToNumber(pool.end), last - 1);
    for (let value = start; value <= end && scanned < poolScanAddressesMax; value += 1, scanned += 1) {
      const ip = numberToIp(value);
      if (!blocked.has(ip) && !used.has(ip)) return ip;
    }
  }
  const poolSize = subnet.data.pools.reduce((sum, pool) => sum + Math.max(0, ipToNumber(pool.end) - ipToNumber(pool.start) + 1), 0);
  return fail({
    code: 'IP_POOL_EXHAUSTED',
    message: `subnet ${subnet.data.name} has no free address left in its pools (${poolSize} addresses, ${used.size} in use)`,
    details: { subnet: ref('subnet', subnet.id), poolSize, inUse: used.size },
    entity: ref('subnet', subnet.id),
  });
}

/** A stable locally administered MAC from the VM name and NIC index (QEMU's 52:54:00 prefix). */
export function macFor(vmName: string, index: number): string {
  let hash = 2166136261;
  for (const char of `${vmName}/${index}`) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  const bytes = [hash >>> 16, hash >>> 8, hash].map((byte) => (byte & 0xff).toString(16).padStart(2, '0'));
  return `52:54:00:${bytes.join(':')}`;
}
