import type { HistoryOp } from './history.js';

/**
 * A sequential specification for the linearizability checker. `step` returns the state after
 * the operation, or undefined when `output` is impossible from `state`. For an operation whose
 * outcome is unknown, `output` is undefined and `step` must accept: it returns the state as if
 * the operation took effect (an unknown operation that did not happen can always be placed
 * last, where its effect is observed by nobody).
 */
export interface Model<State, Input, Output> {
  readonly init: State;
  step(state: State, input: Input, output: Output | undefined): State | undefined;
  /** Equal states must hash equal: the memo table keys on it. */
  hash(state: State): string;
  describe(input: Input, output: Output | undefined): string;
}

export type LinearizabilityVerdict = 'ok' | 'illegal' | 'unknown';

export interface LinearizabilityResult {
  readonly verdict: LinearizabilityVerdict;
  /** Operations that took part (ok and info; failed ones are dropped). */
  readonly opsChecked: number;
  /** For illegal and unknown: what the search got to, for the report. */
  readonly message: string;
}

export interface LinearizabilityOptions {
  /** Search steps before giving up with `unknown`; the search is exponential in the worst case. */
  readonly stepsMax?: number;
}

const stepsMaxDefault = 2_000_000;

interface Entry<Input, Output> {
  readonly call: boolean;
  readonly id: number;
  readonly op: HistoryOp<Input, Output>;
  readonly time: number;
  match: Entry<Input, Output> | undefined;
  prev: Entry<Input, Output> | undefined;
  next: Entry<Input, Output> | undefined;
}

/**
 * Wing and Gong's search with Lowe's memoization, as porcupine implements it: walk the
 * history's call and return events in time order, tentatively linearizing a pending call
 * whenever the model accepts it, backtracking at a return whose call is not yet linearized,
 * and skipping any (linearized set, state) pair seen before.
 */
export function checkLinearizable<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly HistoryOp<Input, Output>[],
  options: LinearizabilityOptions = {},
): LinearizabilityResult {
  const ops = history.filter((op) => op.type !== 'fail');
  const head = buildEntries(ops);
  const stepsMax = options.stepsMax ?? stepsMaxDefault;
  const cache = new Map<bigint, Set<string>>();
  const calls: { entry: Entry<Input, Output>; state: State }[] = [];
  let best: Entry<Input, Output>[] = [];
  // The return reached at the deepest point of the search: the operation nothing could place.
  let stuck: { depth: number; op: HistoryOp<Input, Output> } | undefined;
  let state = model.init;
  let linearized = 0n;
  let entry = head.next;
  for (let steps = 0; head.next !== undefined; steps += 1) {
    if (steps >= stepsMax) return { verdict: 'unknown', opsChecked: ops.length, message: `gave up after ${stepsMax} search steps` };
    if (entry === undefined) throw new Error('linearizability search ran off the end of the history');
    if (entry.call) {
      const output = entry.op.type === 'ok' ? entry.op.output : undefined;
      const next = model.step(state, entry.op.input, output);
      const bit = 1n << BigInt(entry.id);
      if (next !== undefined && remember(cache, linearized | bit, model.hash(next))) {
        calls.push({ entry, state });
        if (calls.length > best.length) best = calls.map((call) => call.entry);
        state = next;
        linearized |= bit;
        lift(entry);
        entry = head.next;
      } else {
        entry = entry.next;
      }
      continue;
    }
    if (stuck === undefined || calls.length > stuck.depth) stuck = { depth: calls.length, op: entry.op };
    const top = calls.pop();
    if (top === undefined) return { verdict: 'illegal', opsChecked: ops.length, message: explain(model, ops, best, stuck.op) };
    state = top.state;
    linearized &= ~(1n << BigInt(top.entry.id));
    unlift(top.entry);
    entry = top.entry.next;
  }
  return { verdict: 'ok', opsChecked: ops.length, message: 'linearizable' };
}

/**
 * Checks each key's operations separately: linearizability is compositional (P-compositional
 * for a map of independent registers), and small per-key histories keep the search cheap.
 */
export function checkLinearizableByKey<State, Input, Output>(
  model: Model<State, Input, Output>,
  history: readonly HistoryOp<Input, Output>[],
  keyOf: (op: HistoryOp<Input, Output>) => string,
  options: LinearizabilityOptions = {},
): LinearizabilityResult & { readonly perKey: ReadonlyMap<string, LinearizabilityResult> } {
  const groups = new Map<string, HistoryOp<Input, Output>[]>();
  for (const op of history) groups.set(keyOf(op), [...(groups.get(keyOf(op)) ?? []), op]);
  const perKey = new Map<string, LinearizabilityResult>();
  for (const [key, ops] of groups) perKey.set(key, checkLinearizable(model, ops, options));
  const results = [...perKey.values()];
  const failed = [...perKey].filter(([, result]) => result.verdict !== 'ok');
  const verdict = failed.some(([, result]) => result.verdict === 'illegal') ? 'illegal' : failed.length > 0 ? 'unknown' : 'ok';
  const message = failed.map(([key, result]) => `key ${key}: ${result.verdict}: ${result.message}`).join('\n') || 'linearizable';
  return { verdict, opsChecked: results.reduce((sum, result) => sum + result.opsChecked, 0), message, perKey };
}

function remember(cache: Map<bigint, Set<string>>, linearized: bigint, hash: string): boolean {
  let states = cache.get(linearized);
  if (states === undefined) cache.set(linearized, (states = new Set()));
  if (states.has(hash)) return false;
  states.add(hash);
  return true;
}

function buildEntries<Input, Output>(ops: readonly HistoryOp<Input, Output>[]): Entry<Input, Output> {
  const entries: Entry<Input, Output>[] = [];
  ops.forEach((op, id) => {
    const call: Entry<Input, Output> = { call: true, id, op, time: op.invokeTime, match: undefined, prev: undefined, next: undefined };
    const ret: Entry<Input, Output> = { call: false, id, op, time: op.completeTime, match: undefined, prev: undefined, next: undefined };
    call.match = ret;
    entries.push(call, ret);
  });
  // Calls sort before returns at equal times: operations touching at an instant count as concurrent.
  entries.sort((a, b) => a.time - b.time || Number(b.call) - Number(a.call));
  const head: Entry<Input, Output> = { call: false, id: -1, op: ops[0]!, time: -Infinity, match: undefined, prev: undefined, next: undefined };
  let previous = head;
  for (const entry of entries) {
    previous.next = entry;
    entry.prev = previous;
    previous = entry;
  }
  return head;
}

function lift<Input, Output>(call: Entry<Input, Output>): void {
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

function unlift<Input, Output>(call: Entry<Input, Output>): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}

/** Names the longest linearization found and the operation that could not follow it. */
function explain<State, Input, Output>(
  model: Model<State, Input, Output>,
  ops: readonly HistoryOp<Input, Output>[],
  best: readonly Entry<Input, Output>[],
  stuck: HistoryOp<Input, Output>,
): string {
  const line = (op: HistoryOp<Input, Output>): string => {
    const end = op.completeTime === Infinity ? '?' : op.completeTime.toFixed(3);
    return `#${op.index} (process ${op.process}, ${op.type}, ${op.invokeTime.toFixed(3)}..${end}) ${model.describe(op.input, op.output)}`;
  };
  const order = best.map((entry) => `    ${line(entry.op)}`).join('\n');
  return `no linearization of ${ops.length} operations; longest valid prefix (${best.length}):\n${order}\n  cannot be extended past the return of:\n    ${line(stuck)}`;
}
