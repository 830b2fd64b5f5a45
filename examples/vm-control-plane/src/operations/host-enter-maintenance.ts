import { defineOperation } from '@ordo/core';
import { z } from 'zod';
import { Host, Vm } from '../entities/index.js';
import { requireHost } from '../lookups.js';
import { fail, ref } from '../operation-failure.js';

/** Puts a host in maintenance; it must run no VM (migrate or power them off first). */
export const hostEnterMaintenance = defineOperation({
  name: 'host.enterMaintenance',
  input: z.object({ hostId: z.string().min(1) }).strict(),
  plan(tx, input) {
    const host = requireHost(tx, input.hostId);
    const running = tx.find(Vm, { hostId: host.id }).filter((vm) => vm.data.power === 'on');
    if (running.length > 0) {
      fail({
        code: 'HOST_HAS_RUNNING_VMS',
        message: `host ${host.data.name} still runs ${running.length} VM(s): ${running.map((vm) => vm.data.name).join(', ')}`,
        details: { host: ref('host', host.id), running: running.map((vm) => ({ kind: 'vm', id: vm.id, name: vm.data.name })) },
        entity: ref('host', host.id),
      });
    }
    tx.update(Host, host.id, { maintenance: true });
  },
});
