import { defineOperation } from '@ordo/core';
import { z } from 'zod';
import { Vm } from '../entities/index.js';
import { requireVm } from '../lookups.js';
import { fail, ref } from '../operation-failure.js';

/** Powers a VM off; it stays defined on its host. */
export const vmPowerOff = defineOperation({
  name: 'vm.powerOff',
  input: z.object({ vmId: z.string().min(1) }).strict(),
  plan(tx, input) {
    const vm = requireVm(tx, input.vmId);
    if (vm.data.power === 'off') fail({ code: 'INVALID_STATE', message: `VM ${vm.data.name} is already off`, details: { power: 'off', requested: 'off' }, entity: ref('vm', vm.id) });
    tx.update(Vm, vm.id, { power: 'off' });
  },
});
