import type { Meter } from '@opentelemetry/api';

/** The metrics Ordo reports, made once per `openTelemetry()` from its meter. */
export interface OrdoInstruments {
  /** Transactions that wrote a record. */
  readonly commits: ReturnType<Meter['createCounter']>;
  /** Attempts of transactions that conflicted (with a concurrent commit, or at the end with ConflictError). */
  readonly conflicts: ReturnType<Meter['createCounter']>;
  /** Reruns of transactions after a conflict. */
  readonly retries: ReturnType<Meter['createCounter']>;
  /** Records per group-commit append. */
  readonly batchRecords: ReturnType<Meter['createHistogram']>;
  /** Milliseconds per append, from the call to the log store's acknowledgement (durable). */
  readonly appendDuration: ReturnType<Meter['createHistogram']>;
  /** Milliseconds per fdatasync of a file log (with `fileSystem()`). */
  readonly fsyncDuration: ReturnType<Meter['createHistogram']>;
  /** Operations committed whose adapters have not all applied them yet (or whose compensation is running). */
  readonly unsettled: ReturnType<Meter['createUpDownCounter']>;
  /** Records a store has yet to read from a shared log: the head it last saw minus what it folded. */
  readonly catchUpLag: ReturnType<Meter['createObservableGauge']>;
}

export function ordoInstruments(meter: Meter): OrdoInstruments {
  return {
    commits: meter.createCounter('ordo.commits', { description: 'transactions that wrote a record' }),
    conflicts: meter.createCounter('ordo.conflicts', { description: 'transaction attempts that conflicted with a concurrent commit' }),
    retries: meter.createCounter('ordo.retries', { description: 'reruns of transactions after a conflict' }),
    batchRecords: meter.createHistogram('ordo.append.records', { description: 'records per group-commit append', unit: '{record}' }),
    appendDuration: meter.createHistogram('ordo.append.duration', { description: 'time from append to durable acknowledgement', unit: 'ms' }),
    fsyncDuration: meter.createHistogram('ordo.fsync.duration', { description: 'time of one fdatasync of a file log', unit: 'ms' }),
    unsettled: meter.createUpDownCounter('ordo.operations.unsettled', { description: 'operations committed and not yet settled (applied or compensated)' }),
    catchUpLag: meter.createObservableGauge('ordo.catchup.lag', { description: 'records of a shared log not yet read by this store', unit: '{record}' }),
  };
}
