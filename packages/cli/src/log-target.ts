import type { LogStore, Snapshot } from '@ordo/core';

/** A snapshot a log keeps, where it is and how large. */
export interface SnapshotEntry {
  readonly position: number;
  readonly bytes: number;
  /** A file path, or `table position` for a database. */
  readonly where: string;
}

/** What `info` shows beyond the records: where the log's bytes are, and its snapshots. */
export interface LogInspection {
  /** Lowest position still stored; undefined for an empty log. */
  readonly firstPosition: number | undefined;
  /** Segment files or tables: [name, first position (or ''), bytes]. */
  readonly parts: readonly { readonly name: string; readonly firstPosition: number | undefined; readonly bytes: number }[];
  readonly snapshots: readonly SnapshotEntry[];
}

/** A new log being written by `import` or `copy`: invisible at its URL until `publish`. */
export interface NewLog {
  readonly log: LogStore;
  /** A second, read-only log store over what was written, to read it back from where it is stored. */
  readBack(): LogStore;
  /** Makes the written log the one at the URL (a file log's directory is renamed into place). Closes `log`. */
  publish(): Promise<void>;
  /** Gives up: closes `log` and removes what can be removed. */
  discard(): Promise<void>;
}

/**
 * One log named by a URL (see log-url.ts). The commands know logs only through this: a new
 * kind of log store (etcd) is one more implementation and one more URL scheme.
 */
export interface LogTarget {
  /** The URL as people should see it (a password is hidden). */
  readonly shown: string;
  /** A log store over the log. Read-only ones take no lock and never change the log. */
  openLog(mode: { readonly writable: boolean }): LogStore;
  inspect(): Promise<LogInspection>;
  /** Reads a snapshot `inspect` listed; damage is a `LogCorruptError` naming where. */
  readSnapshot(entry: SnapshotEntry): Promise<Snapshot>;
  /** Starts a new log at this URL; `TargetNotEmptyError` when one with records or snapshots is there. */
  createLog(): Promise<NewLog>;
  /** Releases connections. */
  close(): Promise<void>;
}
