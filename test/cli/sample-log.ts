import { z } from 'zod';
import { createRuntime, defineEntity, defineOperation, OperationError, openStore, type LogStore, type StateDump } from '@ordo/core';

export const Host = defineEntity('host', z.object({ name: z.string(), memoryMiB: z.number().int() }), { unique: ['name'] });
export const Vm = defineEntity('vm', z.object({ name: z.string(), hostId: z.string(), state: z.string() }), { index: ['hostId'] });

const createVm = defineOperation({
  name: 'vm.create',
  input: z.object({ name: z.string(), hostId: z.string() }),
  plan: (tx, input) => tx.create(Vm, { ...input, state: 'running' }).id,
});

/** Fails to apply VMs named 'doomed', as an unreachable host would. */
const hypervisor = {
  name: 'hypervisor',
  kinds: ['vm'],
  apply({ changes }: { changes: readonly { after?: { data: unknown } }[] }) {
    if (changes.some((change) => (change.after?.data as { name?: string } | undefined)?.name === 'doomed')) {
      throw new OperationError({ code: 'HOST_UNREACHABLE', message: 'host h-1 does not answer', step: 'apply', details: { host: 'h-1', timeoutMs: 5000 } });
    }
  },
};

export interface SampleLog {
  readonly head: number;
  readonly dump: StateDump;
  /** Position of the operation that was compensated, and its requestId. */
  readonly failedPosition: number;
  readonly failedRequestId: string;
  readonly succeededPosition: number;
  readonly hostId: string;
}

/**
 * Writes a small control-plane history: hosts, plain transactions with requestIds, a
 * succeeded operation, a compensated one, a snapshot, and records after it.
 */
export async function writeSampleLog(log: LogStore, options: { hosts?: number; snapshot?: boolean } = {}): Promise<SampleLog> {
  let time = 1_767_225_600_000;
  const store = await openStore({ entities: [Host, Vm], log, clock: () => (time += 7) });
  const hostIds: string[] = [];
  for (let index = 0; index < (options.hosts ?? 5); index += 1) {
    const { value } = await store.transact((tx) => tx.create(Host, { name: `h-${index}`, memoryMiB: 1024 * (index + 1) }).id, { requestId: `add-host-${index}` });
    hostIds.push(value);
  }
  const hostId = hostIds[0] ?? '';
  const runtime = await createRuntime({ store, adapters: [hypervisor] });
  const succeeded = await runtime.run(createVm, { name: 'web-1', hostId }, { requestId: 'create-web-1' });
  await runtime.run(createVm, { name: 'doomed', hostId }, { requestId: 'create-doomed' }).catch(() => undefined);
  const failedPosition = succeeded.position + 2;
  // Closed before the snapshot: a runtime that owns nothing releases its lease in a record of its own.
  await runtime.close();
  if (options.snapshot !== false) await store.snapshot();
  await store.transact((tx) => {
    const host = tx.get(Host, hostId);
    if (host !== undefined) tx.update(Host, hostId, (data) => void (data.memoryMiB = 4096));
  });
  const result = { head: store.position, dump: store.dump(), failedPosition, failedRequestId: 'create-doomed', succeededPosition: succeeded.position, hostId };
  await store.close();
  return result;
}
