import { defineOperation } from '@ordo/core';
import { z } from 'zod';
import { Subnet } from '../entities/index.js';
import { isHostAddress } from '../ipv4.js';
import { requireFreeName } from '../lookups.js';
import { fail } from '../operation-failure.js';

export const subnetCreate = defineOperation({
  name: 'subnet.create',
  input: z
    .object({
      name: z.string().min(1).max(63),
      cidr: z.cidrv4(),
      gateway: z.ipv4(),
      pools: z.array(z.object({ start: z.ipv4(), end: z.ipv4() }).strict()).max(64),
      reserved: z.array(z.ipv4()).max(4096).default([]),
    })
    .strict(),
  plan(tx, input) {
    requireFreeName(tx, Subnet, input.name);
    const outside = [input.gateway, ...input.pools.flatMap((pool) => [pool.start, pool.end])].find((ip) => !isHostAddress(ip, input.cidr));
    if (outside !== undefined) fail({ code: 'IP_NOT_IN_SUBNET', message: `${outside} is not a host address of ${input.cidr}`, details: { ip: outside, cidr: input.cidr } });
    return tx.create(Subnet, input).id;
  },
});
