/** The process that leads a shared log's commit relay, as the log itself records it. */
export interface RelayLeader {
  /** Where its relay listens: `host:port`. */
  readonly address: string;
  /** Unique per lead: a new lead of the same process has another term. */
  readonly term: string;
}

/**
 * One leader at a time for the processes that share a log, decided by the log store itself
 * (PostgreSQL: an advisory lock held by the writer session; etcd: a key bound to a lease).
 *
 * Fencing is the point: once `leader()` answers another term than T (or none), no append that
 * this log store started while it led under T can still succeed. So a follower whose link to
 * the leader of term T broke waits until `leader()` shows T is over, then reads the log: each
 * commit it had forwarded is in it, or never will be.
 */
export interface RelayElection {
  /**
   * Tries to lead, advertising `address`. Resolves to this store's term when it leads now,
   * undefined when another process leads. While it leads, every append of this log store is
   * fenced by the lead: an append after the lead was lost fails ('not-written') or settles
   * like any other append, it never succeeds under a lost lead.
   */
  claim(address: string): Promise<string | undefined>;
  /** The leader now, from a linearizable read of the log store; undefined when none leads. */
  leader(): Promise<RelayLeader | undefined>;
  /** This store's term while it leads, as far as it knows; undefined once it learned the lead is lost. */
  readonly term: string | undefined;
  /** Calls `listener` once when this store learns that it lost the lead. Returns the unsubscribe function. */
  onLost(listener: () => void): () => void;
  /** Gives the lead up, if held. Idempotent. */
  resign(): Promise<void>;
}

/** Options of a log store's commit relay (`postgresLog({ relay })`, `etcdLog({ relay })`). */
export interface RelayOptions {
  /** Where this process's relay listens for followers. Default: 127.0.0.1, a free port. */
  readonly listen?: { readonly host?: string; readonly port?: number };
  /** The address other processes reach it at, `host:port`. Default: the listen address. */
  readonly advertise?: string;
  /** How often a process without a leader tries to find or become one, in ms. Default: 500. */
  readonly checkMs?: number;
  /** How long a follower tries to settle commits of a broken link before it reports them unknown, in ms. Default: 10,000. */
  readonly settleMsMax?: number;
}
