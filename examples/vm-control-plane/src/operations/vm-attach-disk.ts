import { defineOperation } from '@ordo/core';
import { z } from 'zod';
import { Vm, Volume, vmDisksMax } from '../entities/index.js';
import { requireVm, requireVolume } from '../lookups.js';
import { fail, ref } from '../operation-failure.js';

export const vmAttachDisk = defineOperation({
  name: 'vm.attachDisk',
  input: z.object({ vmId: z.string().min(1), volumeId: z.string().min(1) }).strict(),
  plan(tx, input) {
    const vm = requireVm(tx, input.vmId);
    const volume = requireVolume(tx, input.volumeId);
    const attachment = volume.data.attachment;
    if (attachment !== undefined) {
      const where = attachment.vmId === vm.id ? 'this VM' : `VM ${attachment.vmId}`;
      fail({ code: 'VOLUME_ALREADY_ATTACHED', message: `volume ${volume.data.name} is already attached to ${where}`, details: { volume: ref('volume', volume.id), conflicting: ref('vm', attachment.vmId) }, entity: ref('volume', volume.id) });
    }
    if (vm.data.disks.length >= vmDisksMax) {
      fail({ code: 'TOO_MANY_DISKS', message: `VM ${vm.data.name} already has ${vmDisksMax} disks`, details: { requested: vm.data.disks.length + 1, available: vmDisksMax }, entity: ref('vm', vm.id) });
    }
    tx.update(Volume, volume.id, { attachment: { vmId: vm.id } });
    tx.update(Vm, vm.id, (draft) => {
      draft.disks.push(volume.id);
    });
  },
});
