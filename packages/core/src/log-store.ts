import type { CommitRelay } from './commit-relay.js';
import type { LogRecord, Snapshot } from './record.js';

/**
 * Where the log lives. A log store stores and returns records; it knows nothing of entities.
 *
 * The store that owns a `LogStore` (the core's `openStore`) drives it like this:
 *
 * 1. `open()` once; it returns the head and the newest valid snapshot. When it fails, the
 *    owner calls `close()` (to release whatever the store took) and drops the store.
 * 2. `read()` from the snapshot's position + 1 up to the head, and fold.
 * 3. `append()` one batch at a time (never two appends in flight), each starting at head + 1.
 * 4. On `LogHeadMovedError`, or when `subscribe` reports a higher head, `read()` the new records
 *    and fold them before appending again. A `LogHeadMovedError` may carry those records
 *    (`records`, from `expected` on, committed, as `read` would return them); the owner then
 *    folds them instead of reading.
 * 5. `close()` once, after the last append settled.
 *
 * Ownership: records passed to `append` belong to the caller and are frozen; the store must
 * not change them and may keep them. Records returned by `read` belong to the caller, who
 * freezes them; the store must not hand out an object it will change later.
 *
 * Argument checks: `log-store-checks.ts` states the checks of read ranges, append batches and
 * snapshots once (`checkReadRange`, `checkAppendBatch`, `checkSnapshot`); every store calls
 * them before anything else, so all stores refuse the same mistakes with the same errors.
 *
 * `memoryLog()` is the reference implementation, and the strictest store. `test/conformance`
 * holds the suite every store must pass; it asserts the error code of each case below.
 */
export interface LogStore {
  /** A short name for errors and diagnostics: 'memory', 'file', 'postgres'. */
  readonly name: string;

  /**
   * True when other writers may append to the same log (PostgreSQL, a shared memory log).
   * The owner then checks `head()` before answering a read-only transaction, so that it sees
   * every commit acknowledged anywhere before it started (I2 across processes).
   */
  readonly multiWriter: boolean;

  /**
   * Opens the log, recovering it if needed (a file store cuts a torn tail here).
   * Returns the head (0 for an empty log) and the newest valid snapshot at or below it, if any.
   * Throws `LogCorruptError` for damage before the tail, `LogLockedError` when another process
   * holds it for writing, `LogStoreError` for I/O failures. Called once.
   */
  open(): Promise<LogOpenResult>;

  /**
   * Appends `records` atomically and durably, in order. `records[0].position` must equal the
   * head + 1 and positions must be consecutive. Resolves only when every record is durable
   * as the store promises (fsync for the file store, COMMIT for PostgreSQL): that is the
   * acknowledgement (I4). After it resolves the head is the last record's position.
   *
   * Rejects with:
   * - `LogHeadMovedError` when another writer moved the head (nothing of this batch was written),
   *   optionally with the records from `records[0].position` on that the store read meanwhile;
   * - `LogStoreError` when the write failed (`outcome` 'not-written') or its outcome is unknown
   *   ('unknown'). A store whose next append could silently build on top of a lost batch (the
   *   file store) refuses further appends until it is reopened; a store whose positions are
   *   decided by the database (PostgreSQL's primary key) may go on: if the lost batch did
   *   commit, the next append fails with `LogHeadMovedError` and the owner reads it;
   * - `LogReadOnlyError` for a store opened read-only;
   * - `InternalError` when the batch is malformed, a bug in the caller (`checkAppendBatch`:
   *   empty, more than `appendRecordsMax` records, positions not consecutive from >= 1, a
   *   record without a txId, a requestId twice).
   * A batch that is rejected is never partially visible to `read`.
   */
  append(records: readonly LogRecord[]): Promise<void>;

  /**
   * Returns up to `limit` records with positions `from`, `from + 1`, ... in order, ending early
   * at the head (an empty array when `from` > head). `from` >= 1 and `limit` >= 1 are
   * integers, else `InvalidArgumentError` naming the argument (`checkReadRange`).
   * Throws `HistoryUnavailableError` when `from` is below the first record the store still
   * holds (pruned behind a snapshot), `LogCorruptError` when stored data fails its check
   * (a checksum, a row that does not hold its own position), `LogStoreError` for I/O failures.
   */
  read(from: number, limit: number): Promise<LogRecord[]>;

  /**
   * The current head as the store's source of truth knows it: for a shared store this is a
   * linearizable read of the head (it sees every append acknowledged before it was called).
   */
  head(): Promise<number>;

  /**
   * Calls `listener` with a head position when records may have been appended by another
   * writer. Notifications may be lost, repeated or late; they only wake the reader, who then
   * reads. Stores with a single writer may never call it. Returns the unsubscribe function.
   */
  subscribe(listener: (head: number) => void): () => void;

  /**
   * Persists a snapshot of the state at `snapshot.position` (<= head), atomically: a crash
   * leaves either the previous snapshot or this one. Optional; stores without it keep none.
   * Throws `InternalError` for a snapshot beyond the head or of another format (`checkSnapshot`;
   * nothing is written), `LogReadOnlyError` for a store opened read-only.
   */
  writeSnapshot?(snapshot: Snapshot): Promise<void>;

  /**
   * How many records the owner should fold between automatic snapshots; undefined for none.
   * The owner calls `writeSnapshot` when that many records accumulated since the last one.
   */
  readonly snapshotEvery?: number | undefined;

  /**
   * For a shared log: routes the commits of every process on it through one leader, so that one
   * append carries many processes' transactions (see `commit-relay.ts`). The store starts it
   * after open and closes it before `close()`. Undefined for stores without one.
   */
  readonly relay?: CommitRelay | undefined;

  /** Releases files, locks, connections. Pending appends must have settled. Idempotent. */
  close(): Promise<void>;
}

export interface LogOpenResult {
  readonly head: number;
  readonly snapshot?: Snapshot | undefined;
}
