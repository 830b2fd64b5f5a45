import { memoryLog, openStore, type EntityType, type LogRecord, type LogStore } from '@ordo/core';
import { LossyLog } from './broken/lossy-log.js';
import { StaleLog } from './broken/stale-log.js';
import { fakeClock } from './fake-clock.js';
import { FaultyLog, type FaultCounts, type FaultRates } from './faulty-log.js';
import type { Prng } from './prng.js';
import { seededIds } from './seeded-ids.js';
import { fencedViews, SimRelayHub, type RelayCounts, type RelayFaults } from './sim-relay.js';
import { SimNode } from './sim-node.js';

/** `correct` is Ordo as shipped; the others are broken on purpose to prove the checkers can fail. */
export type SimulationVariant = 'correct' | 'unvalidated-reads' | 'stale-reads' | 'lossy-crash';

export interface ClusterOptions {
  readonly variant: SimulationVariant;
  /** Stores (simulated processes) sharing one log. */
  readonly nodes: number;
  readonly faults: FaultRates;
  readonly entities: readonly EntityType[];
  /** Snapshot every this many records (the memory log keeps them), so restarts load snapshots. */
  readonly snapshotEvery?: number | undefined;
  /** Route commits through a simulated commit relay with these faults (see sim-relay.ts). */
  readonly relay?: RelayFaults | undefined;
}

/**
 * Several simulated processes over one in-memory log, each with its own fault-injecting view
 * of it, a shared seeded id source and a fake clock. The `stale-reads` variant gives node 1 a
 * view that hides other writers; `lossy-crash` loses the last record on every restart.
 */
export class SimCluster {
  readonly nodes: SimNode[];
  private readonly base: LogStore;
  private readonly faulty: FaultyLog[] = [];
  private readonly hub: SimRelayHub | undefined;

  constructor(
    root: Prng,
    private readonly options: ClusterOptions,
  ) {
    const clock = fakeClock();
    const ids = seededIds(root.fork(1), clock);
    const snapshots = options.snapshotEvery === undefined ? {} : { snapshotEvery: options.snapshotEvery };
    const base: LogStore = options.variant === 'lossy-crash' ? new LossyLog() : memoryLog(snapshots);
    const faultPrng = root.fork(2);
    this.base = base;
    const hub = options.relay === undefined ? undefined : new SimRelayHub(root.fork(3), options.relay);
    this.hub = hub;
    this.nodes = Array.from({ length: options.nodes }, (_, index) => {
      let log: LogStore;
      let faulty: FaultyLog | undefined;
      if (options.variant === 'stale-reads' && index === 1) log = new StaleLog(base);
      else if (hub === undefined) log = faulty = new FaultyLog(base, faultPrng.fork(index), options.faults);
      else log = fencedViews(hub.join(root.fork(100 + index)), base, (inner) => (faulty = new FaultyLog(inner, faultPrng.fork(index), options.faults)));
      if (faulty !== undefined) this.faulty.push(faulty);
      const beforeReopen = async (): Promise<void> => {
        faulty?.reopen();
        if (base instanceof LossyLog) await base.crash();
      };
      return new SimNode(log, { entities: options.entities, ids, clock, beforeReopen });
    });
  }

  async start(): Promise<void> {
    for (const node of this.nodes) await node.start();
  }

  /** Compares every node with a fresh fold of the log (I3), closes them, and returns the log. */
  async stop(): Promise<{ records: LogRecord[]; stateMismatches: string[] }> {
    const stateMismatches = await this.compareStates();
    for (const node of this.nodes) await node.close();
    return { records: await readAll(this.base), stateMismatches };
  }

  faultCounts(): FaultCounts {
    const total: FaultCounts = { appendFails: 0, ackLost: 0, torn: 0, slow: 0, readFails: 0 };
    for (const log of this.faulty) for (const key of Object.keys(total) as (keyof FaultCounts)[]) total[key] += log.counts[key];
    return total;
  }

  relayCounts(): RelayCounts | undefined {
    return this.hub?.counts;
  }

  restarts(): number {
    return this.nodes.reduce((sum, node) => sum + node.restarts, 0);
  }

  private async compareStates(): Promise<string[]> {
    // A fold from record 1, without any snapshot: the state every node must hold (I3).
    const copy = memoryLog();
    const records = await readAll(this.base);
    if (records.length > 0) await copy.append(records);
    const fresh = await openStore({ entities: this.options.entities, log: copy });
    const expected = JSON.stringify(fresh.dump());
    const mismatches: string[] = [];
    for (const [index, node] of this.nodes.entries()) {
      const store = await node.ready();
      await store.sync().catch(() => undefined);
      if (store.position !== fresh.position) mismatches.push(`node ${index} is at ${store.position} after sync, the log at ${fresh.position}`);
      else if (JSON.stringify(store.dump()) !== expected) mismatches.push(`node ${index} at ${store.position} differs from a fresh fold of the log`);
    }
    await fresh.close();
    return mismatches;
  }
}

export async function readAll(log: LogStore): Promise<LogRecord[]> {
  const head = await log.head();
  const records: LogRecord[] = [];
  while (records.length < head) records.push(...(await log.read(records.length + 1, 1000)));
  return records;
}

/** Positions 1..n with no gap (I1). Returns a description of the first violation, or undefined. */
export function checkPositions(records: readonly LogRecord[]): string | undefined {
  const bad = records.findIndex((record, index) => record.position !== index + 1);
  return bad === -1 ? undefined : `record at index ${bad} has position ${records[bad]!.position}`;
}
