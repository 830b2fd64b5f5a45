import { defineEntity, type LogRecord, type Store } from '@ordo/core';
import { z } from 'zod';
import { HistoryRecorder } from '../history/history-recorder.js';
import { classifyOrdoError } from './classify-error.js';
import { yieldMicrotasks, type FaultRates } from './faulty-log.js';
import { Prng } from './prng.js';
import type { RelayFaults } from './sim-relay.js';
import { SimCluster } from './sim-cluster.js';

/** A placement on a host; names are unique, hosts are indexed. */
export const Slot = defineEntity('slot', z.object({ host: z.string(), name: z.string() }), { unique: ['name'], index: ['host'] });

/** Most slots per host: the invariant that only predicate-read validation can keep. */
export const slotsPerHostMax = 3;
const hosts = ['h0', 'h1', 'h2'];
const namesCount = 24;

export interface PredicateSimulationOptions {
  readonly seed: number;
  readonly clients: number;
  readonly txnsPerClient: number;
  readonly nodes: number;
  readonly faults: FaultRates;
  readonly crashChance: number;
  /** Commits go through a simulated commit relay with these faults. */
  readonly relay?: RelayFaults;
  /** BROKEN ON PURPOSE when true: the capacity check reads outside the transaction. */
  readonly unvalidatedFind?: boolean;
}

export interface PredicateSimulationResult {
  readonly records: number;
  readonly committed: number;
  /** Every position at which an invariant failed, described; empty when none did. */
  readonly violations: readonly string[];
  readonly untyped: readonly unknown[];
}

/**
 * Write skew and phantoms: clients fill hosts up to a capacity checked with `find` on an
 * index (a predicate read), create slots with unique names, and delete slots, on several
 * nodes with faults and crashes. Folding the log record by record, no host may ever hold
 * more than `slotsPerHostMax` slots and no two slots may share a name (I5, I6).
 */
export async function runPredicateSimulation(options: PredicateSimulationOptions): Promise<PredicateSimulationResult> {
  const root = new Prng(options.seed);
  const cluster = new SimCluster(root, { variant: 'correct', nodes: options.nodes, faults: options.faults, entities: [Slot], relay: options.relay });
  await cluster.start();
  let tick = 0;
  const recorder = new HistoryRecorder<string, unknown>(() => (tick += 1));
  const untyped: unknown[] = [];
  await Promise.all(
    Array.from({ length: options.clients }, async (_, process) => {
      const prng = root.fork(10 + process);
      const node = cluster.nodes[process % cluster.nodes.length]!;
      for (let count = 0; count < options.txnsPerClient; count += 1) {
        await node.ready();
        if (prng.chance(options.crashChance)) {
          await node.restart();
          continue;
        }
        const host = prng.pick(hosts);
        const name = `n${prng.int(namesCount)}`;
        const remove = prng.chance(0.3);
        const pause = (): Promise<void> => yieldMicrotasks(prng.int(4));
        const action = (): Promise<unknown> =>
          node.run((store) => (remove ? removeSlot(store, host, pause) : placeSlot(store, host, name, pause, options.unvalidatedFind === true)));
        await recorder.run(process, `${remove ? 'remove' : 'place'} ${host} ${name}`, action, classifyOrdoError).catch((error: unknown) => untyped.push(error));
      }
    }),
  );
  const { records } = await cluster.stop();
  return {
    records: records.length,
    committed: recorder.ops().filter((op) => op.type === 'ok').length,
    violations: checkInvariants(records),
    untyped,
  };
}

async function placeSlot(store: Store, host: string, name: string, pause: () => Promise<void>, unvalidated: boolean): Promise<string | null> {
  const outside = unvalidated ? store.find(Slot, { host }).length : 0;
  const { value } = await store.transact(async (tx) => {
    const used = unvalidated ? outside : tx.find(Slot, { host }).length;
    await pause();
    if (used >= slotsPerHostMax) return null;
    return tx.create(Slot, { host, name }).id;
  });
  return value;
}

async function removeSlot(store: Store, host: string, pause: () => Promise<void>): Promise<string | null> {
  const { value } = await store.transact(async (tx) => {
    const slots = tx.find(Slot, { host });
    await pause();
    const victim = slots[0];
    if (victim === undefined) return null;
    tx.delete(Slot, victim.id);
    return victim.id;
  });
  return value;
}

/** An independent fold of the log (not the core's), checking both invariants after every record. */
function checkInvariants(records: readonly LogRecord[]): string[] {
  const slots = new Map<string, { host: string; name: string }>();
  const violations: string[] = [];
  for (const record of records) {
    for (const change of record.changes) {
      if (change.kind !== Slot.kind) continue;
      if (change.op === 'delete') slots.delete(change.id);
      else slots.set(change.id, change.data as { host: string; name: string });
    }
    const perHost = new Map<string, number>();
    const names = new Set<string>();
    for (const slot of slots.values()) {
      perHost.set(slot.host, (perHost.get(slot.host) ?? 0) + 1);
      if (names.has(slot.name)) violations.push(`position ${record.position}: name ${slot.name} held twice`);
      names.add(slot.name);
    }
    for (const [host, count] of perHost) {
      if (count > slotsPerHostMax) violations.push(`position ${record.position}: host ${host} holds ${count} slots`);
    }
  }
  return violations;
}
