import type { CycleStep, DependencyGraph, EdgeType } from './dependency-graph.js';

/**
 * Adya's cycle classes, most specific first (as Elle reports them). A cycle of write-write
 * edges only is G0 (dirty write); adding write-read edges gives G1c (circular information
 * flow); exactly one read-write anti-dependency is G-single (read skew, a lost update); more
 * is G2 (write skew). The `-realtime` classes need a real-time edge to close the cycle: the
 * history is serializable but not strictly serializable (stale reads, time travel).
 */
export type CycleClass =
  | 'G0'
  | 'G1c'
  | 'G-single'
  | 'G2'
  | 'G0-realtime'
  | 'G1c-realtime'
  | 'G-single-realtime'
  | 'G2-realtime';

interface ClassSearch {
  readonly name: CycleClass;
  readonly allowed: ReadonlySet<EdgeType>;
  /** When set, the cycle must contain exactly one rw edge, and `allowed` excludes rw. */
  readonly singleAntiDependency: boolean;
}

const searches: readonly ClassSearch[] = [
  { name: 'G0', allowed: new Set(['ww']), singleAntiDependency: false },
  { name: 'G1c', allowed: new Set(['ww', 'wr']), singleAntiDependency: false },
  { name: 'G-single', allowed: new Set(['ww', 'wr']), singleAntiDependency: true },
  { name: 'G2', allowed: new Set(['ww', 'wr', 'rw']), singleAntiDependency: false },
  { name: 'G0-realtime', allowed: new Set(['ww', 'rt']), singleAntiDependency: false },
  { name: 'G1c-realtime', allowed: new Set(['ww', 'wr', 'rt']), singleAntiDependency: false },
  { name: 'G-single-realtime', allowed: new Set(['ww', 'wr', 'rt']), singleAntiDependency: true },
  { name: 'G2-realtime', allowed: new Set(['ww', 'wr', 'rw', 'rt']), singleAntiDependency: false },
];

/** Bounds the anti-dependency edges tried per component when looking for a G-single cycle. */
const antiDependencyTriesMax = 500;

export interface ClassifiedCycle {
  readonly name: CycleClass;
  readonly steps: readonly CycleStep[];
}

/**
 * Finds, in every cyclic component of the graph, the most specific cycle, and returns one
 * cycle per component. With `realtime` false the real-time classes are not searched.
 */
export function classifyCycles(graph: DependencyGraph, realtime: boolean): ClassifiedCycle[] {
  const all = new Set<EdgeType>(realtime ? ['ww', 'wr', 'rw', 'rt'] : ['ww', 'wr', 'rw']);
  const found: ClassifiedCycle[] = [];
  for (const component of graph.cyclicComponents(all)) {
    for (const search of searches) {
      if (!realtime && search.allowed.has('rt')) continue;
      const steps = search.singleAntiDependency
        ? singleAntiDependencyCycle(graph, component, search.allowed)
        : anyCycle(graph, component, search.allowed);
      if (steps !== undefined) {
        found.push({ name: search.name, steps });
        break;
      }
    }
  }
  return found;
}

function anyCycle(graph: DependencyGraph, component: ReadonlySet<number>, allowed: ReadonlySet<EdgeType>): CycleStep[] | undefined {
  const [inner] = graph.cyclicComponents(allowed, component);
  if (inner === undefined) return undefined;
  // Every node of a strongly connected component lies on a cycle inside it.
  const start = Math.min(...inner);
  return graph.shortestPath(start, start, allowed, inner);
}

function singleAntiDependencyCycle(
  graph: DependencyGraph,
  component: ReadonlySet<number>,
  allowed: ReadonlySet<EdgeType>,
): CycleStep[] | undefined {
  let best: CycleStep[] | undefined;
  for (const edge of graph.edgesOfType('rw', component).slice(0, antiDependencyTriesMax)) {
    const back = graph.shortestPath(edge.to, edge.from, allowed, component);
    if (back === undefined) continue;
    const cycle = [{ from: edge.from, to: edge.to, type: 'rw' as const, why: graph.reason(edge.from, edge.to, 'rw') }, ...back];
    if (best === undefined || cycle.length < best.length) best = cycle;
  }
  return best;
}
