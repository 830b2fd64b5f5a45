import { defineEntity } from '@ordo/core';
import { z } from 'zod';

/** A pool of volumes with a capacity limit; thin containers allocate on write. */
export const StorageContainer = defineEntity(
  'storageContainer',
  z.object({
    name: z.string().min(1).max(63),
    maxCapacityBytes: z.number().int().nonnegative(),
    thin: z.boolean(),
  }),
  { unique: ['name'] },
);
