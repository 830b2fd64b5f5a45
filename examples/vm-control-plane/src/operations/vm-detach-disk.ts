import { defineOperation } from '@ordo/core';
import { z } from 'zod';
import { Vm, Volume } from '../entities/index.js';
import { requireVm, requireVolume } from '../lookups.js';
import { fail, ref } from '../operation-failure.js';

export const vmDetachDisk = defineOperation({
  name: 'vm.detachDisk',
  input: z.object({ vmId: z.string().min(1), volumeId: z.string().min(1) }).strict(),
  plan(tx, input) {
    const vm = requireVm(tx, input.vmId);
    const volume = requireVolume(tx, input.volumeId);
    if (volume.data.attachment?.vmId !== vm.id) {
      fail({ code: 'VOLUME_NOT_ATTACHED', message: `volume ${volume.data.name} is not attached to VM ${vm.data.name}`, details: { volume: ref('volume', volume.id), vm: ref('vm', vm.id) }, entity: ref('volume', volume.id) });
    }
    tx.update(Volume, volume.id, (draft) => {
      delete draft.attachment;
    });
    tx.update(Vm, vm.id, (draft) => {
      draft.disks = draft.disks.filter((id) => id !== volume.id);
    });
  },
});
