import { createInterface } from 'node:readline';
import { z } from 'zod';
import { createRuntime, defineEntity, defineOperation, isOrdoError, openStore, OperationError, runtimeEntityTypes, type InfrastructureAdapter } from '@ordo/core';
import { postgresLog } from '@ordo/adapters/postgres';
import { directoryStorage } from '@ordo/adapters/storage';

/**
 * A control plane process for the multi-runtime tests: a runtime with the directory storage
 * adapter on a shared PostgreSQL log and a shared storage directory. One JSON command per line
 * on stdin, one JSON event per line on stdout:
 * - { cmd: 'setup' }                                   -> { event: 'setup', containerId }
 * - { cmd: 'create', name, sizeBytes, requestId, pause? } -> { event: 'done', requestId, ok, value?, code?, position? }
 * - { cmd: 'resize', name, sizeBytes, requestId }      -> { event: 'done', ... }
 * - { cmd: 'go', name }                                -> lets a paused apply go on
 * - { cmd: 'status' }                                  -> { event: 'status', runtimeId, operations, volumes, recovered, applies }
 * - { cmd: 'close' }                                   -> exits
 * `pause: 'before' | 'after'` stops the storage apply of that volume before (or after) the real
 * apply, announces { event: 'applying', name, position, epoch } and waits for 'go'.
 * `fail: true` makes the volume's first apply fail with INJECTED_FAILURE after the real apply
 * (its file exists), so the operation is compensated; `pause: 'revert'` then stops the apply of
 * that compensation before the real one, announcing { event: 'reverting', name, position, epoch }.
 * Started as `node ... runtime-child.ts <url> <schema> <storageRoot> <name> <leaseMs>`.
 */
const [url, schema, storageRoot, name, leaseMsText] = process.argv.slice(2);
if (url === undefined || schema === undefined || storageRoot === undefined || name === undefined) throw new Error('usage: runtime-child <url> <schema> <root> <name> <leaseMs>');
const leaseMs = Number(leaseMsText ?? '1500');

export const Container = defineEntity('storageContainer', z.object({ name: z.string(), maxCapacityBytes: z.number().int(), thin: z.boolean() }), { unique: ['name'] });
export const Volume = defineEntity('volume', z.object({ name: z.string(), containerId: z.string(), sizeBytes: z.number().int() }), { unique: ['name'] });

const setup = defineOperation({
  name: 'test.setup',
  input: z.object({}),
  plan(tx) {
    if (tx.get(Container, 'c1') === undefined) tx.create(Container, { name: 'c1', maxCapacityBytes: 2 ** 50, thin: true }, { id: 'c1' });
    return 'c1';
  },
});
const createVolume = defineOperation({
  name: 'volume.create',
  input: z.object({ name: z.string(), sizeBytes: z.number().int() }),
  plan: (tx, input) => tx.create(Volume, { name: input.name, containerId: 'c1', sizeBytes: input.sizeBytes }).id,
});
const resizeVolume = defineOperation({
  name: 'volume.resize',
  input: z.object({ name: z.string(), sizeBytes: z.number().int() }),
  plan(tx, input) {
    const [volume] = tx.find(Volume, { name: input.name });
    if (volume === undefined) throw new OperationError({ code: 'VOLUME_UNKNOWN', message: input.name });
    tx.update(Volume, volume.id, { sizeBytes: input.sizeBytes });
  },
});

type Pause = 'before' | 'after' | 'revert';
interface RunCommand {
  readonly cmd: string;
  readonly name: string;
  readonly sizeBytes: number;
  readonly requestId: string;
  readonly pause?: Pause;
  readonly fail?: boolean;
}

const pauses = new Map<string, Pause>();
const failing = new Set<string>();
const gates = new Map<string, () => void>();
let applies = 0;

function send(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const storage = directoryStorage({ root: storageRoot });
const pausing: InfrastructureAdapter = {
  name: storage.name,
  kinds: storage.kinds,
  prepare: (input) => storage.prepare?.(input),
  reconcile: (input) => storage.reconcile?.(input),
  async apply(input) {
    applies += 1;
    const volumeName = input.changes.map((change) => (change.after ?? change.before)?.data.name).find((value): value is string => typeof value === 'string');
    // The compensation of a create deletes the volume: its change has no after-image.
    const reverting = input.changes.some((change) => change.after === undefined);
    const pause = volumeName === undefined ? undefined : pauses.get(volumeName);
    const wait = async (event: string): Promise<void> => {
      if (volumeName === undefined || pause === undefined) return;
      pauses.delete(volumeName);
      send({ event, name: volumeName, position: input.position, epoch: input.epoch });
      await new Promise<void>((resolve) => gates.set(volumeName, resolve));
    };
    if (pause === 'before' && !reverting) await wait('applying');
    if (pause === 'revert' && reverting) await wait('reverting');
    try {
      await storage.apply(input);
    } catch (error) {
      send({ event: 'applyFailed', name: volumeName, code: isOrdoError(error) ? error.code : String(error) });
      throw error;
    }
    if (volumeName !== undefined && !reverting && failing.delete(volumeName)) {
      throw new OperationError({ code: 'INJECTED_FAILURE', message: `the test failed the apply of ${volumeName} after its file was made` });
    }
    if (pause === 'after' && !reverting) await wait('applying');
  },
};

const store = await openStore({ entities: [Container, Volume], log: postgresLog({ connectionString: url, schema }) });
const runtime = await createRuntime({ store, adapters: [pausing], name, leaseMs, renewEveryMs: Math.floor(leaseMs / 5), checkEveryMs: 200, settleWaitMs: 20_000 });
send({ event: 'ready', runtimeId: runtime.id, recovered: runtime.recovered.length, applies });

async function run(command: RunCommand): Promise<void> {
  if (command.pause !== undefined) pauses.set(command.name, command.pause);
  if (command.fail === true) failing.add(command.name);
  try {
    const input = { name: command.name, sizeBytes: command.sizeBytes };
    const options = { requestId: command.requestId };
    const result = command.cmd === 'create' ? await runtime.run(createVolume, input, options) : await runtime.run(resizeVolume, input, options);
    send({ event: 'done', requestId: command.requestId, ok: true, value: result.value ?? null, position: result.position, replayed: result.replayed });
  } catch (error) {
    send({ event: 'done', requestId: command.requestId, ok: false, code: isOrdoError(error) ? error.code : String(error), message: error instanceof Error ? error.message : String(error) });
  }
}

async function status(): Promise<void> {
  await store.sync();
  const [operationType] = runtimeEntityTypes.filter((type) => type.kind === 'ordo.operation');
  send({
    event: 'status',
    runtimeId: runtime.id,
    position: store.position,
    operations: operationType === undefined ? -1 : store.list(operationType).length,
    volumes: store.list(Volume).map((volume) => ({ id: volume.id, name: volume.data.name, sizeBytes: volume.data.sizeBytes })),
    recovered: runtime.recovered.map((entry) => ({ requestId: entry.requestId, outcome: entry.outcome, code: entry.error?.code ?? null })),
    applies,
  });
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line) as RunCommand;
  if (command.cmd === 'create' || command.cmd === 'resize') void run(command);
  else if (command.cmd === 'setup') void runtime.run(setup, {}).then(({ value }) => send({ event: 'setup', containerId: value }));
  else if (command.cmd === 'go') gates.get(command.name)?.();
  else if (command.cmd === 'status') void status();
  else if (command.cmd === 'close') void runtime.close().then(() => store.close()).then(() => process.exit(0));
});
