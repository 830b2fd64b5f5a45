import { defineOperation } from '@ordo/core';
import { z } from 'zod';
import { Volume } from '../entities/index.js';
import { requireVolume } from '../lookups.js';
import { fail, ref } from '../operation-failure.js';

export const volumeDelete = defineOperation({
  name: 'volume.delete',
  input: z.object({ volumeId: z.string().min(1) }).strict(),
  plan(tx, input) {
    const volume = requireVolume(tx, input.volumeId);
    const attachment = volume.data.attachment;
    if (attachment !== undefined) {
      fail({ code: 'VOLUME_IN_USE', message: `volume ${volume.data.name} is attached to VM ${attachment.vmId}; detach it first`, details: { volume: ref('volume', volume.id), conflicting: ref('vm', attachment.vmId) }, entity: ref('volume', volume.id) });
    }
    tx.delete(Volume, volume.id);
  },
});
