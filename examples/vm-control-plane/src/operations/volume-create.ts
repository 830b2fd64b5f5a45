import { defineOperation } from '@ordo/core';
import { z } from 'zod';
import { requireContainerRoom } from '../container-capacity.js';
import { Volume } from '../entities/index.js';
import { requireContainer, requireFreeName } from '../lookups.js';

export const volumeCreate = defineOperation({
  name: 'volume.create',
  input: z.object({ name: z.string().min(1).max(63), containerId: z.string().min(1), sizeBytes: z.number().int().positive() }).strict(),
  plan(tx, input) {
    requireFreeName(tx, Volume, input.name);
    const container = requireContainer(tx, input.containerId);
    requireContainerRoom(tx, container, input.sizeBytes);
    return tx.create(Volume, input).id;
  },
});
