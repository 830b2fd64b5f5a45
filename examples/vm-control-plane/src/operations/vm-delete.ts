import { defineOperation } from '@ordo/core';
import { z } from 'zod';
import { Vm, Volume } from '../entities/index.js';
import { requireVm } from '../lookups.js';
import { fail, ref } from '../operation-failure.js';

/** Deletes a powered-off VM: its addresses are released with it and its volumes are detached (kept). */
export const vmDelete = defineOperation({
  name: 'vm.delete',
  input: z.object({ vmId: z.string().min(1) }).strict(),
  plan(tx, input) {
    const vm = requireVm(tx, input.vmId);
    if (vm.data.power === 'on') fail({ code: 'INVALID_STATE', message: `VM ${vm.data.name} is on; power it off first`, details: { power: 'on', requested: 'off' }, entity: ref('vm', vm.id) });
    const detached: string[] = [];
    for (const volumeId of vm.data.disks) {
      const volume = tx.get(Volume, volumeId);
      if (volume?.data.attachment?.vmId !== vm.id) continue;
      tx.update(Volume, volumeId, (draft) => {
        delete draft.attachment;
      });
      detached.push(volumeId);
    }
    tx.delete(Vm, vm.id);
    return { releasedIps: vm.data.nics.map((nic) => nic.ip), detachedVolumes: detached };
  },
});
