// PLACEHOLDER, NOT THE TCP RELAY. The real `TcpCommitRelay` is written on branch relay-tcp, and
// the merge replaces this file with it. This stand-in only has its constructor's signature, so
// that the log stores' `relay` option (postgres-log.ts, etcd-log.ts) compiles and can be
// tested for its wiring. It never leads, follows or listens: every batch goes 'direct'.
import { LogStoreError, type CommitRelay, type LogRecord, type RelayedCommit, type RelayedOutcome, type RelayHost } from '@ordo/core';
import type { RelayElection, RelayOptions } from './election.js';

/** The options of a log store's relay, with the name of that log store. */
export type TcpCommitRelayOptions = RelayOptions & { readonly store: string };

/** PLACEHOLDER (see the top of this file): routes every batch 'direct'. */
export class TcpCommitRelay implements CommitRelay {
  readonly route = 'direct' as const;

  constructor(
    /** The election of the log store the relay belongs to. */
    readonly election: RelayElection,
    readonly options: TcpCommitRelayOptions,
  ) {}

  start(host: RelayHost): void {
    void host;
  }

  forward(commits: readonly RelayedCommit[]): Promise<RelayedOutcome[]> {
    return Promise.reject(
      new LogStoreError({ store: this.options.store, message: `the commit relay is a placeholder: ${commits.length} commit(s) not forwarded`, outcome: 'not-written' }),
    );
  }

  appended(records: readonly LogRecord[]): void {
    void records;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
