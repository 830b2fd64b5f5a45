import { z } from 'zod';
import {
  compareFencingTokens,
  createRuntime,
  defineEntity,
  defineOperation,
  memoryLog,
  openStore,
  OperationError,
  readRuntimeMeta,
  runtimeEntityTypes,
  type FencingToken,
  type InfrastructureAdapter,
  type LogRecord,
  type OperationRuntime,
  type Store,
} from '@ordo/core';
import { Prng } from './prng.js';
import { seededIds } from './seeded-ids.js';

/**
 * Three operation runtimes on one memory log, with a fake clock, driven by a seeded random
 * source: operations on a few shared disks, renewals and takeovers when the clock moves,
 * crashes (a runtime and its store are dropped, its pending applies never return) and pauses
 * (a runtime stops renewing and its applies wait, then come back late). The infrastructure
 * is one map shared by all runtimes whose entries keep the newest fencing token applied and
 * refuse older ones, as the shipped adapters do.
 */
export interface RuntimeSimulationOptions {
  readonly seed: number;
  readonly steps: number;
  readonly disks: number;
}

export interface RuntimeSimulationResult {
  readonly records: readonly LogRecord[];
  /** Broken invariants, one sentence each: empty when the run is correct. */
  readonly problems: readonly string[];
  readonly operations: number;
  readonly takeovers: number;
  readonly compensations: number;
  readonly crashes: number;
  readonly pauses: number;
}

const Disk = defineEntity('disk', z.object({ name: z.string(), size: z.number().int() }), { unique: ['name'] });
const [LeaseKind, OperationKind, HoldKind] = runtimeEntityTypes;
const leaseMs = 1_000;

const writeDisk = defineOperation({
  name: 'disk.write',
  input: z.object({ name: z.string(), size: z.number().int() }),
  plan(tx, input) {
    const [disk] = tx.find(Disk, { name: input.name });
    if (disk === undefined) return tx.create(Disk, input).id;
    if (input.size === 0) tx.delete(Disk, disk.id);
    else tx.update(Disk, disk.id, { size: input.size });
    return disk.id;
  },
});

interface Infrastructure {
  readonly disks: Map<string, { size: number | undefined; token: FencingToken }>;
  readonly problems: string[];
}

interface Node {
  readonly name: string;
  readonly store: Store;
  readonly runtime: OperationRuntime;
  /** Resolves the applies held while the node is paused; undefined when it runs. */
  paused: { readonly release: () => void; readonly until: Promise<void> } | undefined;
  crashed: boolean;
}

function infrastructureAdapter(world: Infrastructure, node: () => Node | undefined, failures: Prng): InfrastructureAdapter {
  return {
    name: 'disks',
    kinds: ['disk'],
    async apply({ changes, position, epoch }) {
      const token = { position, epoch };
      for (const change of changes) {
        const current = node();
        if (current?.paused !== undefined) await current.paused.until;
        // A crashed process does nothing more. (No node yet: the runtime is starting and taking over.)
        if (current?.crashed === true) await new Promise<never>(() => undefined);
        const entry = world.disks.get(change.id);
        if (entry !== undefined && compareFencingTokens(token, entry.token) < 0) {
          throw new OperationError({ code: 'STALE_FENCING_TOKEN', message: `disk ${change.id}: ${position}.${epoch} is older than ${entry.token.position}.${entry.token.epoch}` });
        }
        // Now and then the disk array fails an apply: the runtime compensates.
        if (failures.chance(0.05)) throw new Error(`disk array failed on ${change.id}`);
        world.disks.set(change.id, { size: change.after?.data.size as number | undefined, token });
      }
    },
  };
}

export async function runRuntimeSimulation(options: RuntimeSimulationOptions): Promise<RuntimeSimulationResult> {
  const prng = new Prng(options.seed);
  let now = 1_700_000_000_000;
  const clock = { now: () => now, sleep: () => new Promise<void>((resolve) => setImmediate(resolve)) };
  const log = memoryLog();
  const world: Infrastructure = { disks: new Map(), problems: [] };
  const nodes: (Node | undefined)[] = [undefined, undefined, undefined];
  const counts = { operations: 0, crashes: 0, pauses: 0 };
  const ids = seededIds(prng.fork(1), () => now);
  const failures = prng.fork(2);
  const start = async (slot: number, name: string): Promise<void> => {
    const store = await openStore({ entities: [Disk], log, ids, clock: () => now });
    const holder: { node?: Node } = {};
    const runtime = await createRuntime({ store, adapters: [infrastructureAdapter(world, () => holder.node, failures)], name, clock, background: false, leaseMs, renewEveryMs: 200, checkEveryMs: 100, entityBusyWaitMs: 0, settleWaitMs: 0 });
    holder.node = { name, store, runtime, paused: undefined, crashed: false };
    nodes[slot] = holder.node;
  };
  for (let slot = 0; slot < 3; slot += 1) await start(slot, `node-${slot}`);
  const pending: Promise<unknown>[] = [];
  for (let step = 0; step < options.steps; step += 1) {
    const slot = prng.int(3);
    const node = nodes[slot]!;
    const roll = prng.float();
    if (roll < 0.5 && !node.crashed && node.paused === undefined) {
      counts.operations += 1;
      const input = { name: `d${prng.int(options.disks)}`, size: prng.int(4) };
      pending.push(node.runtime.run(writeDisk, input, { requestId: `r${step}` }).catch(() => undefined));
    } else if (roll < 0.75) {
      if (!node.crashed && node.paused === undefined) await node.runtime.tick().catch(() => undefined);
    } else if (roll < 0.9) {
      now += prng.between(50, 600);
    } else if (roll < 0.95 && !node.crashed) {
      // Crash, and a restart: half of the time under the same name (it takes its operations at once).
      counts.crashes += 1;
      node.crashed = true;
      node.paused?.release();
      await start(slot, prng.chance(0.5) ? node.name : `${node.name}-${step}`);
    } else if (!node.crashed) {
      if (node.paused === undefined) {
        counts.pauses += 1;
        let release: () => void = () => undefined;
        const until = new Promise<void>((resolve) => (release = resolve));
        node.paused = { release, until };
      } else {
        node.paused.release();
        node.paused = undefined;
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return finish({ log, nodes, world, counts, pending, advance: (ms) => (now += ms) });
}

async function finish(run: {
  log: ReturnType<typeof memoryLog>;
  nodes: (Node | undefined)[];
  world: Infrastructure;
  counts: { operations: number; crashes: number; pauses: number };
  pending: Promise<unknown>[];
  advance: (ms: number) => void;
}): Promise<RuntimeSimulationResult> {
  const live = run.nodes.filter((node): node is Node => node !== undefined && !node.crashed);
  for (const node of live) {
    node.paused?.release();
    node.paused = undefined;
  }
  // Everyone keeps renewing and taking over until nothing is unsettled (bounded rounds).
  const roundsMax = 200;
  for (let round = 0; round < roundsMax; round += 1) {
    run.advance(150);
    for (const node of live) await node.runtime.tick().catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    const store = live[0]!.store;
    await store.sync();
    if (store.list(OperationKind!).length === 0 && store.list(LeaseKind!).length === live.length) break;
  }
  await Promise.race([Promise.all(run.pending), new Promise((resolve) => setTimeout(resolve, 500))]);
  const store = live[0]!.store;
  await store.sync();
  const records = await run.log.read(1, 100_000);
  const problems = [...run.world.problems, ...checkSettledOnce(records), ...checkLeftovers(store, live), ...checkAgreement(store, run.world), ...checkLastApplied(records, run.world)];
  const takeovers = records.filter((record) => record.operation === 'ordo.lease.takeover').length;
  const compensations = records.filter((record) => readRuntimeMeta(record)?.type === 'compensation').length;
  return { records, problems, takeovers, compensations, ...run.counts };
}

/** Every operation some adapter had to apply has exactly one outcome or compensation, and every compensation one outcome (I11). */
function checkSettledOnce(records: readonly LogRecord[]): string[] {
  const problems: string[] = [];
  const settlements = new Map<string, number>();
  for (const record of records) {
    const meta = readRuntimeMeta(record);
    if (meta?.type === 'outcome' || meta?.type === 'compensation') settlements.set(meta.of, (settlements.get(meta.of) ?? 0) + 1);
  }
  for (const record of records) {
    const meta = readRuntimeMeta(record);
    const needs = (meta?.type === 'operation' && meta.adapters.length > 0) || meta?.type === 'compensation';
    const count = settlements.get(record.txId) ?? 0;
    if (needs && count !== 1) problems.push(`${meta?.type} at ${record.position} is settled ${count} times`);
  }
  return problems;
}

function checkLeftovers(store: Store, live: readonly Node[]): string[] {
  const problems: string[] = [];
  const operations = store.list(OperationKind!);
  const holds = store.list(HoldKind!);
  if (operations.length > 0) problems.push(`${operations.length} operations are still unsettled`);
  if (holds.length > 0) problems.push(`${holds.length} holds are left behind`);
  const leases = store.list(LeaseKind!).map((lease) => lease.id).sort();
  const owners = live.map((node) => node.runtime.id ?? '?').sort();
  if (JSON.stringify(leases) !== JSON.stringify(owners)) problems.push(`leases ${leases.join(',')} are not those of the live runtimes ${owners.join(',')}`);
  return problems;
}

function checkAgreement(store: Store, world: Infrastructure): string[] {
  const problems: string[] = [];
  const disks = new Map(store.list(Disk).map((disk) => [disk.id, disk.data.size]));
  for (const [id, entry] of world.disks) {
    if (entry.size !== disks.get(id)) problems.push(`disk ${id}: infrastructure has ${entry.size}, the store ${disks.get(id)}`);
  }
  for (const [id, size] of disks) if (!world.disks.has(id)) problems.push(`disk ${id} (size ${size}) is in the store but not in the infrastructure`);
  return problems;
}

/** Each disk's newest applied token is the position of the last record that changed it: the applies ended in commit order. */
function checkLastApplied(records: readonly LogRecord[], world: Infrastructure): string[] {
  const last = new Map<string, number>();
  for (const record of records) for (const change of record.changes) if (change.kind === 'disk') last.set(change.id, record.position);
  const problems: string[] = [];
  for (const [id, position] of last) {
    const applied = world.disks.get(id)?.token.position;
    if (applied !== position) problems.push(`disk ${id}: last changed at ${position}, last applied at ${applied ?? 'never'}`);
  }
  return problems;
}
