import { defineEntity } from '@ordo/core';
import { z } from 'zod';

/** Most disks and NICs one VM may have. */
export const vmDisksMax = 16;
export const vmNicsMax = 8;

/** Most labels on one VM. */
export const vmLabelsMax = 32;

/**
 * A virtual machine. `hostId` is where it is defined (set at create or when first powered
 * on); `power` is what the user asked for, and the hypervisor adapter makes the host match.
 *
 * Schema version 2 added `labels` (free-form key/value pairs for the operator). Logs written
 * by version 1 hold VMs without them; the migration below gives those VMs no labels, so
 * they open as version 2 (see "Changing a schema" in the repository README).
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
    labels: z
      .record(z.string().min(1).max(63), z.string().max(255))
      .refine((labels) => Object.keys(labels).length <= vmLabelsMax, `at most ${vmLabelsMax} labels`)
      .default({}),
  }),
  {
    unique: ['name'],
    index: ['hostId'],
    version: 2,
    migrations: {
      1: (vm) => ({ ...vm, labels: {} }),
    },
  },
);
