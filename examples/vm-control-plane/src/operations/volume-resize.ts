import { defineOperation } from '@ordo/core';
import { z } from 'zod';
import { requireContainerRoom } from '../container-capacity.js';
import { Volume } from '../entities/index.js';
import { requireContainer, requireVolume } from '../lookups.js';
import { fail, ref } from '../operation-failure.js';

/** Grows a volume. Shrinking would cut a guest's file system, so it is refused. */
export const volumeResize = defineOperation({
  name: 'volume.resize',
  input: z.object({ volumeId: z.string().min(1), sizeBytes: z.number().int().positive() }).strict(),
  plan(tx, input) {
    const volume = requireVolume(tx, input.volumeId);
    const growth = input.sizeBytes - volume.data.sizeBytes;
    if (growth < 0) {
      fail({ code: 'VOLUME_SHRINK_REFUSED', message: `volume ${volume.data.name} is ${volume.data.sizeBytes} bytes; shrinking it is refused`, details: { requested: input.sizeBytes, current: volume.data.sizeBytes }, entity: ref('volume', volume.id) });
    }
    requireContainerRoom(tx, requireContainer(tx, volume.data.containerId), growth);
    tx.update(Volume, volume.id, { sizeBytes: input.sizeBytes });
  },
});
