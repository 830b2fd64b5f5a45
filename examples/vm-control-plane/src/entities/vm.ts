import { defineEntity } from '@ordo/core';
import { z } from 'zod';

/** Most disks and NICs one VM may have. */
export const vmDisksMax = 16;
export const vmNicsMax = 8;

/**
 * A virtual machine. `hostId` is where it is defined (set at create or when first powered
 * on); `power` is what the user asked for, and the hypervisor adapter makes the host match.
 */
export const Vm = defineEntity(
  'vm',
  z.object({
    name: z.string().min(1).max(63),
    vcpus: z.number().int().positive().max(256),
    memoryMiB: z.number().int().positive(),
    power: z.enum(['on', 'off']),
    hostId: z.string().min(1).optional(),
    disks: z.array(z.string().min(1)).max(vmDisksMax),
    nics: z.array(z.object({ subnetId: z.string().min(1), mac: z.string(), ip: z.ipv4() }).strict()).max(vmNicsMax),
  }),
  { unique: ['name'], index: ['hostId'] },
);
