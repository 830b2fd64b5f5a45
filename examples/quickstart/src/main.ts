import { z } from 'zod';
import { defineEntity, isOrdoError, memoryLog, openStore } from '@ordo/core';

// A tour of the core in one file: a few transactions, a validation error, and a conflict that
// Ordo retries on its own. Run it with `pnpm --filter @ordo/example-quickstart start`.

const Host = defineEntity('host', z.object({ name: z.string(), memoryMiB: z.number().int().positive() }), {
  unique: ['name'],
});
const Vm = defineEntity(
  'vm',
  z.object({ name: z.string(), hostId: z.string(), memoryMiB: z.number().int().positive() }),
  { unique: ['name'], index: ['hostId'] },
);

const store = await openStore({ entities: [Host, Vm], log: memoryLog() });

const { value: host } = await store.transact((tx) => tx.create(Host, { name: 'h1', memoryMiB: 8192 }));
console.log(`created host ${host.data.name} (${host.id}) at position ${store.position}`);

/** Places a VM on the host if the memory of the VMs already there leaves room for it. */
async function place(name: string, memoryMiB: number, pause = 0): Promise<string> {
  let runs = 0;
  const { value, position } = await store.transact(async (tx) => {
    runs += 1;
    const target = tx.require(Host, host.id);
    const used = tx.find(Vm, { hostId: host.id }).reduce((sum, vm) => sum + vm.data.memoryMiB, 0);
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    if (used + memoryMiB > target.data.memoryMiB) return `no room for ${name}: ${target.data.memoryMiB - used} MiB free`;
    tx.create(Vm, { name, hostId: host.id, memoryMiB });
    return `placed ${name}`;
  });
  const retried = runs > 1 ? `, after ${runs - 1} conflict retry` : '';
  return `${value} (transaction ran ${runs}x${retried}; head ${position})`;
}

console.log(await place('web-1', 2048));

// Two placements race for the last 4096 MiB. Each one reads the VMs on the host; the one that
// commits second finds that its read changed, and Ordo runs it again on the new state.
console.log((await Promise.all([place('db-1', 4096, 10), place('db-2', 4096, 10)])).join('\n'));

try {
  await store.transact((tx) => tx.create(Vm, { name: 'bad', hostId: host.id, memoryMiB: -1 }));
} catch (error) {
  if (!isOrdoError(error, 'VALIDATION_FAILED')) throw error;
  console.log(`rejected: ${error.message} (code ${error.code}); nothing was written, head is still ${store.position}`);
}

console.log('VMs on h1:', store.find(Vm, { hostId: host.id }).map((vm) => `${vm.data.name} ${vm.data.memoryMiB} MiB`).join(', '));
const records = await store.read({ from: 1 });
console.log(`log: ${records.map((record) => `#${record.position} ${record.changes.map((c) => `${c.op} ${c.kind}`).join('+')}`).join(', ')}`);
await store.close();
