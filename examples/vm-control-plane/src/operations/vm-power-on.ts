import { defineOperation, type EntityOf, type JsonObject, type Transaction } from '@ordo/core';
import { z } from 'zod';
import { Host, Vm } from '../entities/index.js';
import { hostRefusal, hostUse } from '../host-capacity.js';
import { requireHost, requireVm } from '../lookups.js';
import { fail, ref } from '../operation-failure.js';

/**
 * Powers a VM on: on its host when it has one, else on the host with the most free memory
 * that fits it. Every refusal names the host and the numbers.
 */
export const vmPowerOn = defineOperation({
  name: 'vm.powerOn',
  input: z.object({ vmId: z.string().min(1) }).strict(),
  plan(tx, input) {
    const vm = requireVm(tx, input.vmId);
    if (vm.data.power === 'on') fail({ code: 'INVALID_STATE', message: `VM ${vm.data.name} is already on`, details: { power: 'on', requested: 'on' }, entity: ref('vm', vm.id) });
    const hostId = vm.data.hostId === undefined ? chooseHost(tx, vm) : vm.data.hostId;
    if (vm.data.hostId !== undefined) {
      const refusal = hostRefusal(tx, requireHost(tx, hostId), vm);
      if (refusal !== undefined) fail({ code: refusal.code, message: refusal.message, details: refusal.details, entity: ref('vm', vm.id) });
    }
    tx.update(Vm, vm.id, { power: 'on', hostId });
    return { hostId };
  },
});

function chooseHost(tx: Transaction, vm: EntityOf<typeof Vm>): string {
  const reasons: JsonObject[] = [];
  const messages: string[] = [];
  let best: { id: string; memoryFree: number } | undefined;
  for (const host of tx.list(Host)) {
    const refusal = hostRefusal(tx, host, vm);
    if (refusal !== undefined) {
      reasons.push({ code: refusal.code, message: refusal.message, ...refusal.details });
      messages.push(refusal.message);
      continue;
    }
    const memoryFree = host.data.memoryMiB - hostUse(tx, host.id).memoryMiB;
    if (best === undefined || memoryFree > best.memoryFree) best = { id: host.id, memoryFree };
  }
  if (best !== undefined) return best.id;
  const summary = reasons.length === 0 ? 'there are no hosts' : messages.join('; ');
  return fail({ code: 'NO_HOST_AVAILABLE', message: `no host can run VM ${vm.data.name}: ${summary}`, details: { requested: { memoryMiB: vm.data.memoryMiB, vcpus: vm.data.vcpus }, reasons }, entity: ref('vm', vm.id) });
}
