import type { EntityRef } from './errors.js';
import type { IndexValue } from './kind-state.js';
import type { Change, JsonObject, JsonValue, LogRecord } from './record.js';

/**
 * A commit in the form another process sharing the log can validate and append: what the
 * transaction read (without the objects it saw), from which position on those reads must be
 * unchanged, and the changes as its record will hold them. Plain JSON.
 */
export interface RelayedCommit {
  readonly txId: string;
  /** The position the transaction started at: its reads must be unchanged after it (I5). */
  readonly base: number;
  /** Entities read by id: `[kind, id]`. */
  readonly entities: readonly (readonly [string, string])[];
  /** Unique and indexed values looked up: `[kind, field, value]`, `[kind, field]` for undefined. */
  readonly values: readonly (readonly [string, string, Exclude<IndexValue, undefined>] | readonly [string, string])[];
  /** Kinds listed. */
  readonly kinds: readonly string[];
  /** The changes, in the form the record stores them (after-images in the writer's stored form). */
  readonly changes: readonly Change[];
  /** kind -> the writer's schema mark for each kind it writes data of (see `LogRecord.schemas`). */
  readonly marks?: { readonly [kind: string]: string };
  readonly requestId?: string;
  readonly operation?: string;
  readonly result?: JsonValue;
  readonly meta?: JsonObject;
}

/**
 * What the leader decided for one relayed commit. 'declined': the leader cannot check its reads
 * (a value of a field its own entity types do not index, as when processes run different
 * versions of the model), so it wrote nothing and the follower appends the commit itself.
 */
export type RelayedOutcome =
  | { readonly type: 'committed'; readonly position: number }
  | { readonly type: 'replayed'; readonly position: number; readonly txId: string; readonly result?: JsonValue }
  | { readonly type: 'conflict'; readonly conflicts: readonly EntityRef[] }
  | { readonly type: 'declined' };

/** What a store offers the relay of its log store. */
export interface RelayHost {
  /** The position of the newest record folded into this store's state. */
  readonly position: number;
  /**
   * Leader side: commits another process forwarded, admitted into this store's next batch as
   * if they were its own. Resolves with one outcome per commit, in order, once the batch that
   * holds them was appended and folded (and `appended` was called with it), or at once for the
   * ones refused. Rejects with the log store's error when that batch failed, and with a
   * `LogStoreError` ('not-written') when this store does not lead (any more).
   */
  admit(commits: readonly RelayedCommit[]): Promise<RelayedOutcome[]>;
  /**
   * Follower side: records the leader appended, in order. They may overlap what the store
   * folded or skip ahead of it; the store folds what continues its state and reads the rest
   * from the log store.
   */
  offer(records: readonly LogRecord[]): void;
}

/**
 * How the processes that share a log route commits to one of them, the leader, so that one
 * append carries the transactions of all of them (a shared log otherwise takes one process's
 * batch per append, and writers contend for the head). The relay only moves commits: the
 * leader validates them against its folded state like its own (I5, I7) and appends them
 * through its log store, so order and gaplessness (I1, I2) stay the log store's alone.
 *
 * A log store that offers a relay (`LogStore.relay`) keeps one leader at a time through the
 * log itself, and fences it: once another process leads, or none does, no append that a
 * former leader started can still succeed.
 */
export interface CommitRelay {
  /** Called once, after the store opened and before its first commit. */
  start(host: RelayHost): void;
  /**
   * Where the store's next batch goes: 'lead' (append it, with what followers forwarded),
   * 'follow' (forward it), 'direct' (append it alone: no leader is reachable).
   */
  readonly route: 'lead' | 'follow' | 'direct';
  /**
   * While this process leads: the lead's term, which a new lead (of this process too) changes.
   * A commit admitted under one term is never appended under another: the fence of a lost
   * lead covers what it had queued, not only the append in flight.
   */
  readonly term: string | undefined;
  /**
   * Follower side: sends commits to the leader. Resolves with one outcome per commit, in order,
   * after the records of the committed ones were offered to the host. Rejects with:
   * - `LogStoreError` outcome 'not-written' when the leader certainly appended none of them;
   * - `RelayFencedError` when the link broke and the leader it went to is fenced: each commit
   *   is in the log by now or never will be (the store reads the log to tell which);
   * - `LogStoreError` outcome 'unknown' when neither could be established in time.
   */
  forward(commits: readonly RelayedCommit[]): Promise<RelayedOutcome[]>;
  /** Leader side: the store appended and folded these records (its own and forwarded ones). */
  appended(records: readonly LogRecord[]): void;
  /** Stops routing; pending forwards settle first. Idempotent. */
  close(): Promise<void>;
}
