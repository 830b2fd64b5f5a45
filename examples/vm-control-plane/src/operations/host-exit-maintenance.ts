import { defineOperation } from '@ordo/core';
import { z } from 'zod';
import { Host } from '../entities/index.js';
import { requireHost } from '../lookups.js';

export const hostExitMaintenance = defineOperation({
  name: 'host.exitMaintenance',
  input: z.object({ hostId: z.string().min(1) }).strict(),
  plan(tx, input) {
    requireHost(tx, input.hostId);
    tx.update(Host, input.hostId, { maintenance: false });
  },
});
