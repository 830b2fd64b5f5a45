import type { RegisterInput, RegisterOutput } from '../history/cas-register-model.js';
import { casRegisterModel } from '../history/cas-register-model.js';
import { HistoryRecorder, type PendingOp } from '../history/history-recorder.js';
import type { MicroOp } from '../history/list-append.js';
import { checkListAppend, type ListAppendReport } from '../history/list-append-checker.js';
import { checkLinearizableByKey, type LinearizabilityResult } from '../history/linearizability-checker.js';
import { classifyCode } from './classify-error.js';
import { ListAppendGenerator, type ListAppendGeneratorOptions } from './list-append-generator.js';
import { Prng } from './prng.js';
import { randomRegisterOp } from './register-client.js';
import { StoreChild, type ChildAnswer } from './store-child.js';

export interface ChildRunOptions {
  readonly seed: number;
  /** Arguments of store-server.ts: `file <dir>` or `postgres <url> <schema>`. */
  readonly serverArgs: readonly string[];
  /** Arguments for the child in slot 1 instead, when it should differ (a broken variant). */
  readonly secondServerArgs?: readonly string[];
  /** Store processes running at once (1 for the file log: it has a single writer). */
  readonly children: number;
  /** Logical clients; each is one process of the history. */
  readonly clients: number;
  /** SIGKILLs of a random child, each followed by a restart. */
  readonly kills: number;
  /** Wall time between two kills, drawn from this range. */
  readonly killIntervalMs: readonly [number, number];
  readonly registers: number;
  /** Chance that a client operation is a register operation rather than a list-append transaction. */
  readonly registerChance: number;
  readonly generator: ListAppendGeneratorOptions;
  /** Network faults between kills: `act` runs every `intervalMs` (drawn from the range) until the run stops. */
  readonly disturb?: { readonly intervalMs: readonly [number, number]; readonly act: (prng: Prng) => void };
}

export interface ChildRunResult {
  readonly list: ListAppendReport;
  readonly registers: LinearizabilityResult;
  readonly listOps: number;
  readonly registerOps: number;
  readonly kills: number;
  /** Operations whose outcome was unknown (in flight at a kill, or failed in the log store). */
  readonly unknown: number;
  /** Errors a child reported that were not OrdoErrors. */
  readonly untyped: readonly string[];
}

type ListRecorder = HistoryRecorder<readonly MicroOp[], readonly MicroOp[]>;
type RegisterRecorder = HistoryRecorder<{ readonly key: string; readonly op: RegisterInput }, RegisterOutput>;

interface Slot {
  child: StoreChild;
  restarting: Promise<void> | undefined;
  readonly index: number;
}

interface RunState {
  readonly options: ChildRunOptions;
  readonly slots: Slot[];
  readonly lists: ListRecorder;
  readonly registers: RegisterRecorder;
  readonly generator: ListAppendGenerator;
  readonly untyped: string[];
  stopped: boolean;
}

/**
 * Clients in this process drive store processes over pipes and record the history with one
 * real clock (performance.now); a killer SIGKILLs random store processes and restarts them.
 * Operations in flight at a kill are unknown (info). The run is seeded: operations and kill
 * times come from the seed; the interleaving is real, so a failing seed may not replay exactly.
 */
export async function runWithChildren(options: ChildRunOptions): Promise<ChildRunResult> {
  const prng = new Prng(options.seed);
  const slots: Slot[] = [];
  for (let index = 0; index < options.children; index += 1) slots.push({ child: await startChild(argsFor(options, index)), restarting: undefined, index });
  const keys = Array.from({ length: options.registers }, (_, index) => `r${index}`);
  await setup(slots[0]!, keys);
  const state: RunState = {
    options,
    slots,
    lists: new HistoryRecorder(),
    registers: new HistoryRecorder(),
    generator: new ListAppendGenerator(options.generator),
    untyped: [],
    stopped: false,
  };
  const clients = Array.from({ length: options.clients }, (_, index) => runClient(state, index, prng.fork(10 + index), keys));
  const disturber = disturb(state, prng.fork(2));
  const killer = prng.fork(1);
  for (let kill = 0; kill < options.kills; kill += 1) {
    await sleep(killer.between(options.killIntervalMs[0], options.killIntervalMs[1]));
    await restart(slots[killer.int(slots.length)]!, options);
  }
  await sleep(options.killIntervalMs[0]);
  state.stopped = true;
  await Promise.all([...clients, disturber]);
  await finalReads(state, keys);
  // A restart still in flight would start a child after its slot was closed: let it finish first.
  for (const slot of slots) {
    await slot.restarting?.catch(() => undefined);
    await slot.child.close();
  }
  const lists = state.lists.ops();
  const registerOps = state.registers.ops();
  const model = casRegisterModel({ version: 1, value: 0 });
  const unwrapped = registerOps.map((op) => ({ ...op, input: op.input.op }));
  return {
    list: checkListAppend(lists),
    registers: checkLinearizableByKey(model, unwrapped, (op) => registerOps[op.index]!.input.key),
    listOps: lists.length,
    registerOps: registerOps.length,
    kills: options.kills,
    unknown: [...lists, ...registerOps].filter((op) => op.type === 'info').length,
    untyped: state.untyped,
  };
}

function argsFor(options: ChildRunOptions, slot: number): readonly string[] {
  return slot === 1 && options.secondServerArgs !== undefined ? options.secondServerArgs : options.serverArgs;
}

/** Starts of a store process; opening can meet an injected network fault, and then it is started again. */
const startAttemptsMax = 10;

async function startChild(args: readonly string[]): Promise<StoreChild> {
  let last: unknown;
  for (let attempt = 0; attempt < startAttemptsMax; attempt += 1) {
    const child = new StoreChild(args);
    try {
      await child.started();
      return child;
    } catch (error) {
      last = error;
      await child.kill();
    }
  }
  throw new Error(`the store process did not start in ${startAttemptsMax} attempts`, { cause: last });
}

async function disturb(state: RunState, prng: Prng): Promise<void> {
  const { disturb: faults } = state.options;
  if (faults === undefined) return;
  while (!state.stopped) {
    await sleep(prng.between(faults.intervalMs[0], faults.intervalMs[1]));
    if (!state.stopped) faults.act(prng);
  }
}

/** Kills the slot's child and starts a new one; concurrent calls share one restart. */
function restart(slot: Slot, options: ChildRunOptions): Promise<void> {
  slot.restarting ??= (async () => {
    await slot.child.kill();
    slot.child = await startChild(argsFor(options, slot.index));
  })().finally(() => {
    slot.restarting = undefined;
  });
  return slot.restarting;
}

async function setup(slot: Slot, keys: readonly string[]): Promise<void> {
  const answer = await slot.child.request({ type: 'setup', registers: keys });
  if (!('value' in answer)) throw new Error(`register setup failed: ${JSON.stringify(answer)}`);
}

async function runClient(state: RunState, process: number, prng: Prng, keys: readonly string[]): Promise<void> {
  const slot = state.slots[process % state.slots.length]!;
  const known = new Map(keys.map((key) => [key, 1]));
  while (!state.stopped) {
    await slot.restarting;
    if (prng.chance(state.options.registerChance)) {
      const key = prng.pick(keys);
      const op = randomRegisterOp(prng, known.get(key) ?? 1);
      const pending = state.registers.invoke(process, { key, op });
      const answer = await slot.child.request({ type: 'register', key, op });
      const output = complete(state, state.registers, pending, answer);
      if (output !== undefined && 'version' in output) known.set(key, output.version);
      restartAfterStoreFailure(state, slot, answer);
    } else {
      const ops = state.generator.next(prng);
      const pending = state.lists.invoke(process, ops);
      const answer = await slot.child.request({ type: 'list', ops });
      complete(state, state.lists, pending, answer);
      restartAfterStoreFailure(state, slot, answer);
    }
  }
}

/** A store that cannot tell what it wrote refuses writes until reopened: restart its process. */
function restartAfterStoreFailure(state: RunState, slot: Slot, answer: ChildAnswer): void {
  if ('error' in answer && classifyCode(answer.error.code) === 'info') void restart(slot, state.options);
}

function complete<Input, Output>(state: RunState, recorder: HistoryRecorder<Input, Output>, pending: PendingOp<Input>, answer: ChildAnswer): Output | undefined {
  if ('value' in answer) {
    recorder.ok(pending, answer.value as Output);
    return answer.value as Output;
  }
  if ('gone' in answer) {
    recorder.info(pending, 'the store process died');
    return undefined;
  }
  if (answer.error.code === 'UNTYPED') state.untyped.push(answer.error.message);
  if (classifyCode(answer.error.code) === 'fail') recorder.fail(pending, answer.error.code);
  else recorder.info(pending, answer.error.code);
  return undefined;
}

/** Attempts of each final read; a failed one restarts the process first. */
const finalReadAttemptsMax = 5;

/** After the last kill, one read of every list and register, so that lost writes show. */
async function finalReads(state: RunState, keys: readonly string[]): Promise<void> {
  const slot = state.slots[0]!;
  const process = state.options.clients;
  const ops: MicroOp[] = state.generator.usedKeys().map((key) => ({ f: 'read', key }));
  await retried(state, slot, async () => {
    const pending = state.lists.invoke(process, ops);
    const answer = await slot.child.request({ type: 'list', ops });
    complete(state, state.lists, pending, answer);
    return answer;
  });
  for (const key of keys) {
    await retried(state, slot, async () => {
      const pending = state.registers.invoke(process, { key, op: { f: 'read' } });
      const answer = await slot.child.request({ type: 'register', key, op: { f: 'read' } });
      complete(state, state.registers, pending, answer);
      return answer;
    });
  }
}

async function retried(state: RunState, slot: Slot, read: () => Promise<ChildAnswer>): Promise<void> {
  for (let attempt = 0; attempt < finalReadAttemptsMax; attempt += 1) {
    await slot.restarting;
    const answer = await read();
    if ('value' in answer) return;
    await restart(slot, state.options);
  }
  throw new Error(`a final read failed ${finalReadAttemptsMax} times`);
}


function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
