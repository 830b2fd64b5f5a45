import { defineOperation } from '@ordo/core';
import { z } from 'zod';
import { Host } from '../entities/index.js';
import { requireFreeName } from '../lookups.js';

export const hostAdd = defineOperation({
  name: 'host.add',
  input: z.object({ name: z.string().min(1).max(63), cpuThreads: z.number().int().positive(), memoryMiB: z.number().int().positive(), libvirtUri: z.string().min(1).optional() }).strict(),
  plan(tx, input) {
    requireFreeName(tx, Host, input.name);
    return tx.create(Host, { ...input, maintenance: false }).id;
  },
});
