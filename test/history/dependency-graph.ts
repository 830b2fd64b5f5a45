/**
 * A directed graph between transactions, with typed edges: write-write (ww), write-read (wr),
 * read-write anti-dependencies (rw) and real-time order (rt). Nodes are small integers.
 */
export type EdgeType = 'ww' | 'wr' | 'rw' | 'rt';

const edgeBits: Record<EdgeType, number> = { ww: 1, wr: 2, rw: 4, rt: 8 };

export interface CycleStep {
  readonly from: number;
  readonly to: number;
  readonly type: EdgeType;
  /** Why the edge exists (key and values), for the report. */
  readonly why: string;
}

export class DependencyGraph {
  private readonly out = new Map<number, Map<number, number>>();
  private readonly reasons = new Map<string, string>();

  addEdge(from: number, to: number, type: EdgeType, why: string): void {
    // A transaction depending on itself says nothing about the order between transactions.
    if (from === to) return;
    let targets = this.out.get(from);
    if (targets === undefined) this.out.set(from, (targets = new Map<number, number>()));
    targets.set(to, (targets.get(to) ?? 0) | edgeBits[type]);
    const reasonKey = `${from} ${to} ${type}`;
    if (!this.reasons.has(reasonKey)) this.reasons.set(reasonKey, why);
  }

  nodes(): number[] {
    const all = new Set<number>();
    for (const [from, targets] of this.out) {
      all.add(from);
      for (const to of targets.keys()) all.add(to);
    }
    return [...all].sort((a, b) => a - b);
  }

  /** Successors of `node` over edges whose type is in `allowed`, with the first allowed type. */
  successors(node: number, allowed: ReadonlySet<EdgeType>): { to: number; type: EdgeType }[] {
    const result: { to: number; type: EdgeType }[] = [];
    for (const [to, bits] of this.out.get(node) ?? []) {
      const type = firstType(bits, allowed);
      if (type !== undefined) result.push({ to, type });
    }
    return result;
  }

  edgesOfType(type: EdgeType, within: ReadonlySet<number>): { from: number; to: number }[] {
    const result: { from: number; to: number }[] = [];
    for (const from of within) {
      for (const [to, bits] of this.out.get(from) ?? []) {
        if ((bits & edgeBits[type]) !== 0 && within.has(to)) result.push({ from, to });
      }
    }
    return result;
  }

  reason(from: number, to: number, type: EdgeType): string {
    return this.reasons.get(`${from} ${to} ${type}`) ?? '';
  }

  /**
   * Strongly connected components with more than one node, over the allowed edge types
   * (Tarjan's algorithm, iterative so that long chains cannot overflow the stack).
   */
  cyclicComponents(allowed: ReadonlySet<EdgeType>, within?: ReadonlySet<number>): Set<number>[] {
    const index = new Map<number, number>();
    const low = new Map<number, number>();
    const onStack = new Set<number>();
    const stack: number[] = [];
    const components: Set<number>[] = [];
    let counter = 0;
    const inScope = (node: number): boolean => within === undefined || within.has(node);
    for (const root of this.nodes()) {
      if (index.has(root) || !inScope(root)) continue;
      const work: { node: number; next: { to: number }[]; at: number }[] = [];
      const enter = (node: number): void => {
        index.set(node, counter);
        low.set(node, counter);
        counter += 1;
        stack.push(node);
        onStack.add(node);
        work.push({ node, next: this.successors(node, allowed).filter((edge) => inScope(edge.to)), at: 0 });
      };
      enter(root);
      while (work.length > 0) {
        const frame = work[work.length - 1]!;
        const edge = frame.next[frame.at];
        if (edge !== undefined) {
          frame.at += 1;
          if (!index.has(edge.to)) enter(edge.to);
          else if (onStack.has(edge.to)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(edge.to)!));
          continue;
        }
        work.pop();
        const parent = work[work.length - 1];
        if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
        if (low.get(frame.node) === index.get(frame.node)) components.push(popComponent(stack, onStack, frame.node));
      }
    }
    return components.filter((component) => component.size > 1);
  }

  /**
   * The shortest path from `from` to `to` over allowed edges, staying within `within`;
   * undefined when there is none. Breadth-first.
   */
  shortestPath(from: number, to: number, allowed: ReadonlySet<EdgeType>, within: ReadonlySet<number>): CycleStep[] | undefined {
    const parent = new Map<number, { from: number; type: EdgeType }>();
    const queue = [from];
    const seen = new Set([from]);
    for (let head = 0; head < queue.length; head += 1) {
      const node = queue[head]!;
      for (const edge of this.successors(node, allowed)) {
        if (!within.has(edge.to)) continue;
        if (edge.to === to) {
          parent.set(to, { from: node, type: edge.type });
          return this.unwind(parent, from, to);
        }
        if (seen.has(edge.to)) continue;
        seen.add(edge.to);
        parent.set(edge.to, { from: node, type: edge.type });
        queue.push(edge.to);
      }
    }
    return undefined;
  }

  private unwind(parent: Map<number, { from: number; type: EdgeType }>, from: number, to: number): CycleStep[] {
    const steps: CycleStep[] = [];
    let node = to;
    // The loop ends at `from`; the bound guards against a malformed parent map.
    for (let guard = 0; guard <= parent.size; guard += 1) {
      const link = parent.get(node)!;
      steps.unshift({ from: link.from, to: node, type: link.type, why: this.reason(link.from, node, link.type) });
      node = link.from;
      if (node === from) return steps;
    }
    throw new Error('path reconstruction did not reach its start');
  }
}

function firstType(bits: number, allowed: ReadonlySet<EdgeType>): EdgeType | undefined {
  // Prefer the most specific explanation: ww, then wr, then rw, then real time.
  for (const type of ['ww', 'wr', 'rw', 'rt'] as const) {
    if ((bits & edgeBits[type]) !== 0 && allowed.has(type)) return type;
  }
  return undefined;
}

function popComponent(stack: number[], onStack: Set<number>, root: number): Set<number> {
  const component = new Set<number>();
  for (;;) {
    const node = stack.pop()!;
    onStack.delete(node);
    component.add(node);
    if (node === root) return component;
  }
}
