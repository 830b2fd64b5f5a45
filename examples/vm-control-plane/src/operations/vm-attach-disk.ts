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
      fail('VOLUME_ALREADY_ATTACHED', `volume ${volume.data.name} is already attached to ${where}`, { volume: ref('volume', volume.id), conflicting: ref('vm', attachment.vmId) }, ref('volume', volume.id));
    }
    if (vm.data.disks.length >= vmDisksMax) {
      fail('TOO_MANY_DISKS', `VM ${vm.data.name} already has ${vmDisksMax} disks`, { requested: vm.data.disks.length + 1, available: vmDisksMax }, ref('vm', vm.id));
    }
    tx.update(Volume, volume.id, { attachment: { vmId: vm.id } });
    tx.update(Vm, vm.id, (draft) => {
      draft.disks.push(volume.id);
    });
  },
});
