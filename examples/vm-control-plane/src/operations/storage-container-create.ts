import { defineOperation } from '@ordo/core';
import { z } from 'zod';
import { StorageContainer } from '../entities/index.js';
import { requireFreeName } from '../lookups.js';

export const storageContainerCreate = defineOperation({
  name: 'storageContainer.create',
  input: z.object({ name: z.string().min(1).max(63), maxCapacityBytes: z.number().int().nonnegative(), thin: z.boolean().default(true), format: z.enum(['raw', 'qcow2']).optional() }).strict(),
  plan(tx, input) {
    requireFreeName(tx, StorageContainer, input.name);
    return tx.create(StorageContainer, input).id;
  },
});
