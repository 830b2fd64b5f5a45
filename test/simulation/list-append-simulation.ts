import { isOrdoError, type LogRecord } from '@ordo/core';
import { HistoryRecorder } from '../history/history-recorder.js';
import type { ListAppendOp, MicroOp } from '../history/list-append.js';
import { checkListAppend, type ListAppendReport } from '../history/list-append-checker.js';
import { classifyOrdoError } from './classify-error.js';
import { yieldMicrotasks, type FaultCounts, type FaultRates } from './faulty-log.js';
import { ListAppendGenerator, type ListAppendGeneratorOptions } from './list-append-generator.js';
import { ListEntity, ordoListClient, unvalidatedReadsClient } from './list-append-client.js';
import { Prng } from './prng.js';
import { SimCluster, type SimulationVariant } from './sim-cluster.js';
import type { RelayCounts, RelayFaults } from './sim-relay.js';
import type { SimNode } from './sim-node.js';

export interface ListAppendSimulationOptions {
  readonly seed: number;
  readonly variant: SimulationVariant;
  readonly clients: number;
  readonly txnsPerClient: number;
  readonly nodes: number;
  readonly faults: FaultRates;
  /** Chance, before each transaction, that the client's node crashes and restarts. */
  readonly crashChance: number;
  readonly generator: ListAppendGeneratorOptions;
  /** Snapshot every this many records, so that restarts load a snapshot and fold the rest. */
  readonly snapshotEvery?: number;
  /** Commits go through a simulated commit relay with these faults. */
  readonly relay?: RelayFaults;
}

export interface SimulationResult {
  readonly seed: number;
  readonly history: readonly ListAppendOp[];
  readonly report: ListAppendReport;
  readonly records: readonly LogRecord[];
  readonly faults: FaultCounts;
  readonly restarts: number;
  /** What the relay did, when the run had one. */
  readonly relay?: RelayCounts | undefined;
  /** Errors that were not OrdoErrors: crashes, never acceptable. */
  readonly untyped: readonly unknown[];
  /** Differences between a node's state and a fresh fold of the log (I3); empty when none. */
  readonly stateMismatches: readonly string[];
}

type Recorder = HistoryRecorder<readonly MicroOp[], readonly MicroOp[]>;

/**
 * One deterministic list-append run: clients issue random transactions against simulated
 * processes over one faulty in-memory log, nodes crash and restart, and the recorded history
 * goes through the Elle-style checker. Everything is a function of the seed: interleavings
 * come from microtask yields drawn from seeded generators, times from logical clocks.
 */
export async function runListAppendSimulation(options: ListAppendSimulationOptions): Promise<SimulationResult> {
  const root = new Prng(options.seed);
  const cluster = new SimCluster(root, {
    variant: options.variant,
    nodes: options.nodes,
    faults: options.faults,
    entities: [ListEntity],
    snapshotEvery: options.snapshotEvery,
    relay: options.relay,
  });
  await cluster.start();
  let tick = 0;
  const recorder: Recorder = new HistoryRecorder(() => (tick += 1));
  const generator = new ListAppendGenerator(options.generator);
  const untyped: unknown[] = [];
  const clientPrngs = Array.from({ length: options.clients }, (_, index) => root.fork(10 + index));
  await Promise.all(
    clientPrngs.map((prng, index) =>
      runClient({ options, node: cluster.nodes[index % cluster.nodes.length]!, prng, process: index, recorder, generator, untyped }),
    ),
  );
  await finalRead(cluster.nodes[0]!, recorder, generator, options.clients);
  const { records, stateMismatches } = await cluster.stop();
  const history = recorder.ops();
  return {
    seed: options.seed,
    history,
    report: checkListAppend(history),
    records,
    faults: cluster.faultCounts(),
    restarts: cluster.restarts(),
    relay: cluster.relayCounts(),
    untyped,
    stateMismatches,
  };
}

interface ClientContext {
  readonly options: ListAppendSimulationOptions;
  readonly node: SimNode;
  readonly prng: Prng;
  readonly process: number;
  readonly recorder: Recorder;
  readonly generator: ListAppendGenerator;
  readonly untyped: unknown[];
}

async function runClient(context: ClientContext): Promise<void> {
  const { options, node, prng } = context;
  const client = options.variant === 'unvalidated-reads' ? unvalidatedReadsClient : ordoListClient;
  const pause = (): Promise<void> => yieldMicrotasks(prng.int(3));
  for (let txn = 0; txn < options.txnsPerClient; txn += 1) {
    await node.ready();
    if (prng.chance(options.crashChance)) {
      await node.restart();
      continue;
    }
    const ops = context.generator.next(prng);
    const action = (): Promise<MicroOp[]> => node.run((store) => client.execute(store, ops, pause));
    await context.recorder.run(context.process, ops, action, classifyOrdoError).catch((error: unknown) => context.untyped.push(error));
  }
}

/** Attempts of the last read; each failed one (an injected fault) restarts the node. */
const finalReadAttemptsMax = 20;

/** One last read of every key, after everything settled: lost writes cannot hide. */
async function finalRead(node: SimNode, recorder: Recorder, generator: ListAppendGenerator, process: number): Promise<void> {
  const ops: MicroOp[] = generator.usedKeys().map((key) => ({ f: 'read', key }));
  for (let attempt = 0; attempt < finalReadAttemptsMax; attempt += 1) {
    const op = recorder.invoke(process, ops);
    try {
      recorder.ok(op, await node.run((store) => ordoListClient.execute(store, ops, async () => undefined)));
      return;
    } catch (error) {
      recorder.info(op, String(error));
      if (isOrdoError(error, 'LOG_STORE_FAILED')) await node.restart();
    }
  }
  throw new Error(`the final read failed ${finalReadAttemptsMax} times`);
}
