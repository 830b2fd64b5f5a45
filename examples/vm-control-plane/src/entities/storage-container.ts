import { defineEntity } from '@ordo/core';
import { z } from 'zod';

/** A pool of volumes with a capacity limit; thin containers allocate on write. */
export const StorageContainer = defineEntity(
  'storageContainer',
  z.object({
    name: z.string().min(1).max(63),
    maxCapacityBytes: z.number().int().nonnegative(),
    thin: z.boolean(),
    /** How the storage adapter keeps its volumes: raw sparse files (the default) or qcow2 images. */
    format: z.enum(['raw', 'qcow2']).optional(),
  }),
  { unique: ['name'] },
);
