import { defineOperation } from '@ordo/core';
import { z } from 'zod';
import { Vm } from '../entities/index.js';
import { hostRefusal } from '../host-capacity.js';
import { requireHost, requireVm } from '../lookups.js';
import { fail, ref } from '../operation-failure.js';

/** Moves a VM to another host; a running VM needs room there (a stopped one only a host not in maintenance). */
export const vmMigrate = defineOperation({
  name: 'vm.migrate',
  input: z.object({ vmId: z.string().min(1), targetHostId: z.string().min(1) }).strict(),
  plan(tx, input) {
    const vm = requireVm(tx, input.vmId);
    if (vm.data.hostId === undefined) fail({ code: 'INVALID_STATE', message: `VM ${vm.data.name} is on no host yet; power it on instead`, details: { hostId: null }, entity: ref('vm', vm.id) });
    if (vm.data.hostId === input.targetHostId) {
      fail({ code: 'SAME_HOST', message: `VM ${vm.data.name} is already on host ${input.targetHostId}`, details: { host: ref('host', input.targetHostId) }, entity: ref('vm', vm.id) });
    }
    const target = requireHost(tx, input.targetHostId);
    const refusal = hostRefusal(tx, target, vm);
    const matters = refusal !== undefined && (vm.data.power === 'on' || refusal.code === 'HOST_IN_MAINTENANCE');
    if (matters) fail({ code: refusal.code, message: refusal.message, details: { ...refusal.details, target: ref('host', target.id) }, entity: ref('vm', vm.id) });
    tx.update(Vm, vm.id, { hostId: target.id });
    return { from: vm.data.hostId, to: target.id };
  },
});
