import { classifyCycles, type CycleClass } from './classify-cycles.js';
import { DependencyGraph, type CycleStep } from './dependency-graph.js';
import { formatOp, type ListAppendOp } from './list-append.js';

/**
 * An Elle-style checker for strict serializability of list-append histories.
 *
 * From the reads it infers, per key, the order in which appends were committed (the version
 * order: the longest list read, which every other read must be a prefix of). From that it
 * builds write-write, write-read and read-write dependencies between transactions, adds
 * real-time order (a transaction that completed before another was invoked precedes it), and
 * reports every cycle with its class, plus anomalies that need no cycle: aborted reads (G1a),
 * intermediate reads (G1b), lost updates, stale reads, lost writes, and reads no valid history
 * could produce. `ok` transactions happened; `fail` ones did not; `info` ones may have: their
 * appends count once some read observed them, and they never precede anything in real time.
 */
export type AnomalyType =
  | CycleClass
  | 'G1a'
  | 'G1b'
  | 'lost-update'
  | 'stale-read'
  | 'lost-write'
  | 'incompatible-order'
  | 'duplicate-elements'
  | 'garbage-read'
  | 'internal';

export interface Anomaly {
  readonly type: AnomalyType;
  readonly message: string;
  /** The offending transactions. */
  readonly ops: readonly ListAppendOp[];
  readonly cycle?: readonly CycleStep[];
}

export interface ListAppendReport {
  readonly valid: boolean;
  /** Transactions that took part in the check (ok ones, and info ones whose writes were seen). */
  readonly opsChecked: number;
  readonly anomalies: readonly Anomaly[];
  /** Every anomaly, one paragraph each, with the offending transactions. */
  describe(): string;
}

export interface ListAppendCheckOptions {
  /** Include real-time edges (strict serializability). Default true. */
  readonly realtime?: boolean;
}

interface Write {
  readonly op: ListAppendOp;
  readonly key: string;
  readonly value: number;
  /** True for the writer's last append to this key. */
  readonly final: boolean;
}

/** A read as seen from outside its transaction: `external` drops the transaction's own appends. */
interface Read {
  readonly op: ListAppendOp;
  readonly key: string;
  readonly full: readonly number[];
  readonly external: readonly number[];
}

/** Bounds the anomalies kept per type, so a badly broken store still gives a readable report. */
const anomaliesPerTypeMax = 10;

export function checkListAppend(history: readonly ListAppendOp[], options: ListAppendCheckOptions = {}): ListAppendReport {
  const anomalies = new AnomalyList();
  const writes = indexWrites(history);
  const reads = collectReads(history, anomalies);
  checkElements(reads, writes, anomalies);
  const orders = versionOrders(reads, anomalies);
  checkIntermediateReads(reads, writes, anomalies);
  checkLostUpdates(reads, anomalies);
  // Stale reads and lost writes are real-time properties: plain serializability allows them.
  if (options.realtime ?? true) checkStaleReads(reads, writes, orders, anomalies);
  const nodes = graphNodes(history, orders, writes);
  const graph = buildGraph(nodes, reads, writes, orders, options.realtime ?? true);
  const byIndex = new Map(history.map((op) => [op.index, op]));
  for (const cycle of classifyCycles(graph, options.realtime ?? true)) {
    const ops = cycle.steps.map((step) => byIndex.get(step.from)!);
    const path = cycle.steps.map((step) => `    T${step.from} -${step.type}-> T${step.to}   (${step.why})`).join('\n');
    anomalies.add({ type: cycle.name, message: `${cycle.name} cycle of ${ops.length} transactions:\n${path}`, ops, cycle: cycle.steps });
  }
  return report(nodes.size, anomalies.all());
}

function report(opsChecked: number, anomalies: readonly Anomaly[]): ListAppendReport {
  return {
    valid: anomalies.length === 0,
    opsChecked,
    anomalies,
    describe: () =>
      anomalies.map((anomaly) => `${anomaly.type}: ${anomaly.message}\n${anomaly.ops.map((op) => `    ${formatOp(op)}`).join('\n')}`).join('\n\n'),
  };
}

class AnomalyList {
  private readonly list: Anomaly[] = [];
  private readonly counts = new Map<AnomalyType, number>();

  add(anomaly: Anomaly): void {
    const count = (this.counts.get(anomaly.type) ?? 0) + 1;
    this.counts.set(anomaly.type, count);
    if (count <= anomaliesPerTypeMax) this.list.push(anomaly);
  }

  all(): Anomaly[] {
    return this.list;
  }
}

function indexWrites(history: readonly ListAppendOp[]): Map<string, Map<number, Write>> {
  const writes = new Map<string, Map<number, Write>>();
  for (const op of history) {
    const appends = op.input.filter((micro) => micro.f === 'append');
    appends.forEach((micro, position) => {
      const final = !appends.slice(position + 1).some((later) => later.key === micro.key);
      let byValue = writes.get(micro.key);
      if (byValue === undefined) writes.set(micro.key, (byValue = new Map<number, Write>()));
      // Elle's inference needs unique values per key; a duplicate is a bug in the workload.
      if (byValue.has(micro.value)) throw new Error(`value ${micro.value} appended to ${micro.key} twice`);
      byValue.set(micro.value, { op, key: micro.key, value: micro.value, final });
    });
  }
  return writes;
}

function collectReads(history: readonly ListAppendOp[], anomalies: AnomalyList): Read[] {
  const reads: Read[] = [];
  for (const op of history) {
    if (op.type !== 'ok') continue;
    if (op.output === undefined) throw new Error(`ok transaction T${op.index} has no output`);
    const own = new Map<string, number[]>();
    const expected = new Map<string, readonly number[]>();
    for (const micro of op.output) {
      if (micro.f === 'append') {
        own.set(micro.key, [...(own.get(micro.key) ?? []), micro.value]);
        const before = expected.get(micro.key);
        if (before !== undefined) expected.set(micro.key, [...before, micro.value]);
        continue;
      }
      if (micro.value === undefined) throw new Error(`ok transaction T${op.index} has a read without a value`);
      const read = externalRead(op, micro.key, micro.value, own.get(micro.key) ?? [], expected.get(micro.key), anomalies);
      expected.set(micro.key, micro.value);
      // Only the first read of a key says what the transaction saw of others' writes.
      if (read !== undefined && !reads.some((other) => other.op === op && other.key === micro.key)) reads.push(read);
    }
  }
  return reads;
}

function externalRead(
  op: ListAppendOp,
  key: string,
  full: readonly number[],
  own: readonly number[],
  expected: readonly number[] | undefined,
  anomalies: AnomalyList,
): Read | undefined {
  if (expected !== undefined && !sameList(full, expected)) {
    anomalies.add({ type: 'internal', message: `T${op.index} read ${key} as [${full.join(' ')}], but its own earlier reads and appends give [${expected.join(' ')}]`, ops: [op] });
    return undefined;
  }
  const tail = full.slice(full.length - own.length);
  if (own.length > 0 && (full.length < own.length || !sameList(tail, own))) {
    anomalies.add({ type: 'internal', message: `T${op.index} read ${key} as [${full.join(' ')}], which does not end with its own appends [${own.join(' ')}]`, ops: [op] });
    return undefined;
  }
  return { op, key, full, external: full.slice(0, full.length - own.length) };
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

function isPrefix(prefix: readonly number[], list: readonly number[]): boolean {
  return prefix.length <= list.length && prefix.every((value, index) => value === list[index]);
}

/** Duplicates, values nobody wrote (garbage), and values written by failed transactions (G1a). */
function checkElements(reads: readonly Read[], writes: Map<string, Map<number, Write>>, anomalies: AnomalyList): void {
  for (const read of reads) {
    if (new Set(read.full).size !== read.full.length) {
      anomalies.add({ type: 'duplicate-elements', message: `T${read.op.index} read ${read.key} with a value twice: [${read.full.join(' ')}]`, ops: [read.op] });
    }
    for (const value of read.full) {
      const write = writes.get(read.key)?.get(value);
      if (write === undefined) {
        anomalies.add({ type: 'garbage-read', message: `T${read.op.index} read ${value} in ${read.key}, which nobody appended`, ops: [read.op] });
      } else if (write.op.type === 'fail') {
        anomalies.add({ type: 'G1a', message: `T${read.op.index} read ${value} in ${read.key}, appended by T${write.op.index}, which failed`, ops: [read.op, write.op] });
      }
    }
  }
}

/** Per key, the longest list read; every other read must be a prefix of it. */
function versionOrders(reads: readonly Read[], anomalies: AnomalyList): Map<string, readonly number[]> {
  const orders = new Map<string, Read>();
  for (const read of reads) {
    const longest = orders.get(read.key);
    if (longest === undefined || read.full.length > longest.full.length) orders.set(read.key, read);
  }
  for (const read of reads) {
    const longest = orders.get(read.key)!;
    if (!isPrefix(read.full, longest.full)) {
      anomalies.add({
        type: 'incompatible-order',
        message: `reads of ${read.key} disagree on the order of appends: T${read.op.index} saw [${read.full.join(' ')}], T${longest.op.index} saw [${longest.full.join(' ')}]`,
        ops: [read.op, longest.op],
      });
    }
  }
  return new Map([...orders].map(([key, read]) => [key, read.full]));
}

function checkIntermediateReads(reads: readonly Read[], writes: Map<string, Map<number, Write>>, anomalies: AnomalyList): void {
  for (const read of reads) {
    const last = read.external[read.external.length - 1];
    if (last === undefined) continue;
    const write = writes.get(read.key)?.get(last);
    if (write !== undefined && !write.final && write.op !== read.op) {
      anomalies.add({ type: 'G1b', message: `T${read.op.index} read ${read.key} ending at ${last}, an intermediate append of T${write.op.index}`, ops: [read.op, write.op] });
    }
  }
}

/** Two committed transactions that read the same state of a key and both appended to it. */
function checkLostUpdates(reads: readonly Read[], anomalies: AnomalyList): void {
  const groups = new Map<string, ListAppendOp[]>();
  for (const read of reads) {
    const appends = read.op.input.some((micro) => micro.f === 'append' && micro.key === read.key);
    if (!appends) continue;
    const group = `${read.key}\u0000${read.external.join(' ')}`;
    groups.set(group, [...(groups.get(group) ?? []), read.op]);
  }
  for (const [group, ops] of groups) {
    if (ops.length < 2) continue;
    const [key, seen] = group.split('\u0000');
    anomalies.add({ type: 'lost-update', message: `${ops.length} transactions read ${key} as [${seen}] and all appended to it`, ops });
  }
}

/**
 * A read must contain every value whose append was acknowledged before the reading
 * transaction was invoked. A missing value that later reads show is a stale read; one that no
 * read ever shows was lost.
 */
function checkStaleReads(
  reads: readonly Read[],
  writes: Map<string, Map<number, Write>>,
  orders: Map<string, readonly number[]>,
  anomalies: AnomalyList,
): void {
  for (const read of reads) {
    const seen = new Set(read.full);
    const order = new Set(orders.get(read.key) ?? []);
    for (const write of writes.get(read.key)?.values() ?? []) {
      if (write.op.type !== 'ok' || write.op === read.op || seen.has(write.value)) continue;
      if (!(write.op.completeTime < read.op.invokeTime)) continue;
      const type = order.has(write.value) ? 'stale-read' : 'lost-write';
      const what = type === 'stale-read' ? 'a stale read' : 'a lost write: no read ever shows it';
      anomalies.add({
        type,
        message: `T${read.op.index} read ${read.key} as [${read.full.join(' ')}] without ${write.value}, acknowledged by T${write.op.index} before T${read.op.index} began (${what})`,
        ops: [read.op, write.op],
      });
    }
  }
}

/** ok transactions, plus info ones with an append that some read observed. */
function graphNodes(
  history: readonly ListAppendOp[],
  orders: Map<string, readonly number[]>,
  writes: Map<string, Map<number, Write>>,
): Map<number, ListAppendOp> {
  const nodes = new Map<number, ListAppendOp>();
  for (const op of history) if (op.type === 'ok') nodes.set(op.index, op);
  for (const [key, order] of orders) {
    for (const value of order) {
      const write = writes.get(key)?.get(value);
      if (write?.op.type === 'info') nodes.set(write.op.index, write.op);
    }
  }
  return nodes;
}

function buildGraph(
  nodes: Map<number, ListAppendOp>,
  reads: readonly Read[],
  writes: Map<string, Map<number, Write>>,
  orders: Map<string, readonly number[]>,
  realtime: boolean,
): DependencyGraph {
  const graph = new DependencyGraph();
  const writer = (key: string, value: number | undefined): ListAppendOp | undefined => {
    const op = value === undefined ? undefined : writes.get(key)?.get(value)?.op;
    return op !== undefined && nodes.has(op.index) ? op : undefined;
  };
  for (const [key, order] of orders) {
    for (let index = 1; index < order.length; index += 1) {
      const before = writer(key, order[index - 1]);
      const after = writer(key, order[index]);
      if (before && after) graph.addEdge(before.index, after.index, 'ww', `${key}: ${order[index - 1]} then ${order[index]}`);
    }
  }
  for (const read of reads) {
    const last = read.external[read.external.length - 1];
    const source = writer(read.key, last);
    if (source) graph.addEdge(source.index, read.op.index, 'wr', `${read.key}: read ${last}`);
    const next = orders.get(read.key)?.[read.external.length];
    const overwriter = writer(read.key, next);
    if (overwriter) graph.addEdge(read.op.index, overwriter.index, 'rw', `${read.key}: read [${read.external.join(' ')}], missed ${next}`);
  }
  if (realtime) addRealTimeEdges(graph, [...nodes.values()]);
  return graph;
}

/**
 * Adds a transitive reduction of real-time order: an edge from each transaction in the
 * frontier (completed, not yet implied by a later completion) to each new invocation.
 */
function addRealTimeEdges(graph: DependencyGraph, ops: readonly ListAppendOp[]): void {
  const events: { time: number; invoke: boolean; op: ListAppendOp }[] = [];
  for (const op of ops) {
    events.push({ time: op.invokeTime, invoke: true, op });
    if (op.completeTime !== Infinity) events.push({ time: op.completeTime, invoke: false, op });
  }
  // At equal times invocations go first: only a strictly earlier completion orders two operations.
  events.sort((a, b) => a.time - b.time || Number(b.invoke) - Number(a.invoke));
  let frontier: ListAppendOp[] = [];
  for (const event of events) {
    if (event.invoke) {
      for (const done of frontier) graph.addEdge(done.index, event.op.index, 'rt', `T${done.index} completed before T${event.op.index} began`);
    } else {
      frontier = frontier.filter((done) => !(done.completeTime < event.op.invokeTime));
      frontier.push(event.op);
    }
  }
}
