import type { RegisterInput, RegisterOutput } from '../history/cas-register-model.js';
import { casRegisterModel } from '../history/cas-register-model.js';
import type { HistoryOp } from '../history/history.js';
import { HistoryRecorder } from '../history/history-recorder.js';
import { checkLinearizableByKey, type LinearizabilityResult } from '../history/linearizability-checker.js';
import { classifyOrdoError } from './classify-error.js';
import type { FaultRates } from './faulty-log.js';
import { Prng } from './prng.js';
import { executeRegisterOp, randomRegisterOp, RegisterEntity } from './register-client.js';
import { SimCluster, type SimulationVariant } from './sim-cluster.js';

export interface RegisterSimulationOptions {
  readonly seed: number;
  readonly variant: SimulationVariant;
  readonly clients: number;
  readonly opsPerClient: number;
  readonly registers: number;
  readonly nodes: number;
  readonly faults: FaultRates;
  readonly crashChance: number;
}

export type RegisterOp = HistoryOp<{ readonly id: string; readonly op: RegisterInput }, RegisterOutput>;

export interface RegisterSimulationResult {
  readonly seed: number;
  readonly history: readonly RegisterOp[];
  readonly result: LinearizabilityResult;
  readonly untyped: readonly unknown[];
  readonly stateMismatches: readonly string[];
}

/**
 * A deterministic run of single-entity reads, writes, compare-and-set updates and
 * read-modify-writes on a few registers, checked for linearizability per register.
 */
export async function runRegisterSimulation(options: RegisterSimulationOptions): Promise<RegisterSimulationResult> {
  const root = new Prng(options.seed);
  const cluster = new SimCluster(root, { variant: options.variant, nodes: options.nodes, faults: options.faults, entities: [RegisterEntity] });
  await cluster.start();
  const ids = Array.from({ length: options.registers }, (_, index) => `r${index}`);
  await createRegisters(cluster, ids);
  let tick = 0;
  const recorder = new HistoryRecorder<RegisterOp['input'], RegisterOutput>(() => (tick += 1));
  const untyped: unknown[] = [];
  const known = new Map(ids.map((id) => [id, 1]));
  await Promise.all(
    Array.from({ length: options.clients }, async (_, process) => {
      const prng = root.fork(10 + process);
      const node = cluster.nodes[process % cluster.nodes.length]!;
      for (let count = 0; count < options.opsPerClient; count += 1) {
        await node.ready();
        if (prng.chance(options.crashChance)) {
          await node.restart();
          continue;
        }
        const id = prng.pick(ids);
        const op = randomRegisterOp(prng, known.get(id) ?? 1);
        const action = async (): Promise<RegisterOutput> => {
          const output = await node.run((store) => executeRegisterOp(store, id, op));
          if ('version' in output) known.set(id, output.version);
          return output;
        };
        await recorder.run(process, { id, op }, action, classifyOrdoError).catch((error: unknown) => untyped.push(error));
      }
    }),
  );
  const { stateMismatches } = await cluster.stop();
  const history = recorder.ops();
  const model = casRegisterModel({ version: 1, value: 0 });
  const unwrapped = history.map((op) => ({ ...op, input: op.input.op }));
  const result = checkLinearizableByKey(model, unwrapped, (op) => history[op.index]!.input.id);
  return { seed: options.seed, history, result, untyped, stateMismatches };
}

/** Setup is not under test: it retries through injected faults until the registers exist. */
const setupAttemptsMax = 50;

async function createRegisters(cluster: SimCluster, ids: readonly string[]): Promise<void> {
  const node = cluster.nodes[0]!;
  for (let attempt = 0; attempt < setupAttemptsMax; attempt += 1) {
    try {
      await node.run((store) =>
        store.transact((tx) => {
          for (const id of ids) if (tx.get(RegisterEntity, id) === undefined) tx.create(RegisterEntity, { value: 0 }, { id });
        }),
      );
      for (const other of cluster.nodes) await (await other.ready()).sync();
      return;
    } catch {
      await node.restart();
    }
  }
  throw new Error(`registers not created after ${setupAttemptsMax} attempts`);
}

