import { defineEntity } from '@ordo/core';
import { z } from 'zod';

/** A virtual disk in a storage container, attached to at most one VM. */
export const Volume = defineEntity(
  'volume',
  z.object({
    name: z.string().min(1).max(63),
    containerId: z.string().min(1),
    sizeBytes: z.number().int().positive(),
    attachment: z.object({ vmId: z.string().min(1) }).strict().optional(),
  }),
  { unique: ['name'], index: ['containerId'] },
);
