import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One row of `pnpm bench` output, and of `ORDO_BENCH_JSON`. */
export interface BenchResult {
  readonly system: string;
  readonly workload: string;
  readonly concurrency: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Extra figures (heap bytes per entity, seconds to open...) shown in the table's last column. */
  readonly extra?: Readonly<Record<string, number | string>>;
}

/** A file in test/bench/suites/ default-exports one of these; main.ts finds them all. */
export interface BenchSuite {
  /** Short name used by `ORDO_BENCH_ONLY=name1,name2` to pick suites. */
  readonly name: string;
  run(context: BenchContext): Promise<void>;
}

export interface BenchContext {
  report(result: BenchResult): void;
  /** Progress lines go to stderr so the table stays readable. */
  log(message: string): void;
  /** A fresh temporary directory, removed when the run ends. */
  tempDir(prefix: string): string;
  /** Scales durations: 1 by default, smaller with ORDO_BENCH_QUICK=1. */
  readonly scale: number;
}

/**
 * A full collection, when node runs with --expose-gc (`pnpm bench` does): before a one-shot
 * measurement, so that it does not pay for the garbage of the phase before it.
 */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export interface ClosedLoopOptions {
  readonly system: string;
  readonly workload: string;
  readonly concurrency: number;
  /** How long to run, after warm-up. */
  readonly durationMs: number;
  readonly warmupMs?: number;
  /** One operation by caller `worker`; resolves when the operation is acknowledged. */
  readonly operation: (worker: number) => Promise<unknown>;
  readonly extra?: Readonly<Record<string, number | string>>;
}

/**
 * Runs `concurrency` callers in a closed loop (each starts its next operation when the last
 * one finished) and measures throughput and latency percentiles over `durationMs`.
 */
export async function closedLoop(options: ClosedLoopOptions): Promise<BenchResult> {
  const warmupMs = options.warmupMs ?? Math.min(500, options.durationMs / 4);
  await runFor(options, warmupMs, undefined);
  const latencies: number[] = [];
  const started = performance.now();
  const count = await runFor(options, options.durationMs, latencies);
  const elapsedSeconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    system: options.system,
    workload: options.workload,
    concurrency: options.concurrency,
    opsPerSec: Math.round(count / elapsedSeconds),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    ...(options.extra === undefined ? {} : { extra: options.extra }),
  };
}

async function runFor(options: ClosedLoopOptions, durationMs: number, latencies: number[] | undefined): Promise<number> {
  const deadline = performance.now() + durationMs;
  let count = 0;
  const worker = async (index: number): Promise<void> => {
    while (performance.now() < deadline) {
      const begun = performance.now();
      await options.operation(index);
      latencies?.push(performance.now() - begun);
      count += 1;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, index) => worker(index)));
  return count;
}

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.floor(sorted.length * fraction));
  return Math.round((sorted[index] ?? 0) * 1000) / 1000;
}

export function createContext(results: BenchResult[], scale: number): { context: BenchContext; cleanup: () => void } {
  const dirs: string[] = [];
  const context: BenchContext = {
    scale,
    report(result) {
      results.push(result);
      process.stderr.write(`  ${formatRow(result)}\n`);
    },
    log(message) {
      process.stderr.write(`${message}\n`);
    },
    tempDir(prefix) {
      const dir = mkdtempSync(join(tmpdir(), `ordo-bench-${prefix}-`));
      dirs.push(dir);
      return dir;
    },
  };
  return { context, cleanup: () => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })) };
}

export function formatRow(result: BenchResult): string {
  const extra = Object.entries(result.extra ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
  return [
    result.system.padEnd(20),
    result.workload.padEnd(14),
    String(result.concurrency).padStart(4),
    result.opsPerSec.toLocaleString('en-US').padStart(12),
    result.p50Ms.toFixed(3).padStart(9),
    result.p99Ms.toFixed(3).padStart(9),
    extra,
  ].join('  ');
}

export const tableHeader = ['system'.padEnd(20), 'workload'.padEnd(14), 'conc', 'ops/s'.padStart(12), 'p50 ms'.padStart(9), 'p99 ms'.padStart(9), 'extra'].join('  ');
