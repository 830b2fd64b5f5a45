import { InvalidArgumentError } from '../errors.js';
import type { Store } from '../store.js';
import type { Telemetry } from '../telemetry.js';
import type { InfrastructureAdapter } from './adapter.js';
import { systemClock, type RuntimeClock } from './runtime-clock.js';

/** Operations one runtime runs at once, unless `concurrency` says otherwise. */
export const concurrencyDefault = 64;
export const concurrencyMax = 4_096;
/** The most `run` calls that may wait for a free slot; more are refused with RUNTIME_BUSY. */
export const pendingRunsMax = 10_000;
export const leaseMsDefault = 10_000;
export const takeoversMaxDefault = 3;
/** The longest any time option may be: a day. */
const durationMsMax = 86_400_000;

export interface CreateRuntimeOptions {
  readonly store: Store;
  /** Applied in this order; compensations undo in the reverse order. Names must be unique. */
  readonly adapters?: readonly InfrastructureAdapter[];
  /** Ask every adapter to `reconcile` with the state after the start's takeover. Default true. */
  readonly reconcile?: boolean;
  /**
   * A stable name for this control plane process. A runtime that starts with the name of a
   * lease in the log is that runtime's restart: it takes its operations over at once instead
   * of waiting for the lease to expire. Two live runtimes must not share a name.
   */
  readonly name?: string | undefined;
  /** Time and sleeps. Default: the system clock. */
  readonly clock?: RuntimeClock;
  /** Operations run at once (1..concurrencyMax). Default 64. */
  readonly concurrency?: number;
  /** How long a lease lasts after each renewal; peers take over after it. Default 10 000 ms. */
  readonly leaseMs?: number;
  /** How often the lease is renewed. Default leaseMs / 5. */
  readonly renewEveryMs?: number;
  /** How often peers' leases are checked for expiry (and owned operations retried). Default 1 000 ms. */
  readonly checkEveryMs?: number;
  /** How long a plan that writes a held entity waits for it (then ENTITY_BUSY); 0 fails at once. Default 5 000 ms. */
  readonly entityBusyWaitMs?: number;
  /** How long a run or replay waits for another runtime to settle an operation (then OPERATION_TAKEN_OVER / OPERATION_UNSETTLED). Default 30 000 ms. */
  readonly settleWaitMs?: number;
  /** Takeovers after which an operation is reverted without being applied again. Default 3. */
  readonly takeoversMax?: number;
  /** Run renewals and takeover checks on a timer. Default true; false leaves it to `tick()`. */
  readonly background?: boolean;
  /** Errors of the background work. Default: console.warn. */
  readonly onBackgroundError?: (error: unknown) => void;
  /** Told of each operation and its steps (validate, commit, plan, prepare, settle, apply, compensate). Default: none. */
  readonly telemetry?: Telemetry;
}

/** The options with defaults filled in and checked. */
export interface RuntimeSettings {
  readonly name: string | undefined;
  readonly clock: RuntimeClock;
  readonly concurrency: number;
  readonly leaseMs: number;
  readonly renewEveryMs: number;
  readonly checkEveryMs: number;
  readonly entityBusyWaitMs: number;
  readonly settleWaitMs: number;
  readonly takeoversMax: number;
  readonly background: boolean;
  readonly reconcile: boolean;
  readonly onBackgroundError: (error: unknown) => void;
}

export function runtimeSettings(options: CreateRuntimeOptions): RuntimeSettings {
  const leaseMs = duration('leaseMs', options.leaseMs ?? leaseMsDefault, 1);
  const renewEveryMs = duration('renewEveryMs', options.renewEveryMs ?? Math.max(1, Math.floor(leaseMs / 5)), 1);
  if (renewEveryMs >= leaseMs) throw new InvalidArgumentError('renewEveryMs', `must be shorter than leaseMs (${leaseMs})`);
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name.length === 0 || options.name.length > 256)) {
    throw new InvalidArgumentError('name', 'must be a non-empty string of at most 256 characters');
  }
  return {
    name: options.name,
    clock: options.clock ?? systemClock,
    concurrency: integer('concurrency', options.concurrency ?? concurrencyDefault, 1, concurrencyMax),
    leaseMs,
    renewEveryMs,
    checkEveryMs: duration('checkEveryMs', options.checkEveryMs ?? Math.min(1_000, leaseMs), 1),
    entityBusyWaitMs: duration('entityBusyWaitMs', options.entityBusyWaitMs ?? 5_000, 0),
    settleWaitMs: duration('settleWaitMs', options.settleWaitMs ?? 30_000, 0),
    takeoversMax: integer('takeoversMax', options.takeoversMax ?? takeoversMaxDefault, 0, 1_000),
    background: options.background ?? true,
    reconcile: options.reconcile ?? true,
    onBackgroundError: options.onBackgroundError ?? ((error) => console.warn('ordo runtime: background work failed:', error)),
  };
}

function duration(name: string, value: number, min: number): number {
  return integer(name, value, min, durationMsMax);
}

function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(name, `must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}
