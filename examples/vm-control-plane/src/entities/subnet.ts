import { defineEntity } from '@ordo/core';
import { z } from 'zod';

/**
 * An IPv4 subnet. Addresses are handed out from `pools` (inclusive ranges); `reserved`
 * addresses and the gateway are never handed out. Which addresses are in use is not stored
 * here: it is what the VMs' NICs hold, so it can never disagree with them.
 */
export const Subnet = defineEntity(
  'subnet',
  z.object({
    name: z.string().min(1).max(63),
    cidr: z.cidrv4(),
    gateway: z.ipv4(),
    pools: z.array(z.object({ start: z.ipv4(), end: z.ipv4() }).strict()).max(64),
    reserved: z.array(z.ipv4()).max(4096),
  }),
  { unique: ['name'] },
);
