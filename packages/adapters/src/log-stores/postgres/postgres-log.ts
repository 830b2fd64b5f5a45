import {
  checkReadRange,
  checkSnapshot,
  InternalError,
  InvalidArgumentError,
  isOrdoError,
  LogCorruptError,
  LogHeadMovedError,
  LogStoreError,
  snapshotBeyondHead,
  StoreClosedError,
  type CommitRelay,
  type LogOpenResult,
  type LogRecord,
  type LogStore,
  type Snapshot,
} from '@ordo/core';
import type { RelayElection, RelayOptions } from '../relay/election.js';
import { TcpCommitRelay } from '../relay/tcp-relay.js';
import { settleLostAppend } from './append-outcome.js';
import { AppendStatements, type AppendStatementOptions } from './append-statement.js';
import { HeadWatcher } from '../head-watcher.js';
import { headNotifications } from './head-notifications.js';
import { describeError, failedBeforeCommit, isUniqueViolation, violatedConstraint } from './postgres-errors.js';
import type { PostgresPool } from './postgres-pool.js';
import { ensureSchema } from './postgres-schema.js';
import { postgresTables, type PostgresTables } from './postgres-tables.js';
import { decodeRecord, decodeSnapshot, encodeBatch, positionFromText, type EncodedBatch } from './record-codec.js';
import { WriterConnection, type Writer } from './writer-connection.js';
import { abandonTurnSql, releaseTurnSql, turnSql } from './append-turn.js';
import { HeadAnnouncer } from './head-announcer.js';
import { ownedPool } from './owned-pool.js';
import { PostgresRelayElection } from './relay-election.js';

interface PostgresLogCommonOptions {
  /** The PostgreSQL schema that holds this log's tables. Default 'ordo'. One schema, one log. */
  readonly schema?: string;
  /** Records between automatic snapshots (see LogStore.snapshotEvery). Default: none. */
  readonly snapshotEvery?: number;
  /** Interval of the backstop head poll while someone subscribes. Default 1000 ms. */
  readonly headPollMs?: number;
  /** Longest an append may run (waiting on locks included) before it fails. Default 30,000 ms. */
  readonly appendTimeoutMs?: number;
  /**
   * Appends NOTIFY other processes at most once per this many milliseconds; the appends in
   * between are announced by the next NOTIFY, at most this much later (see head-announcer.ts).
   * 0 notifies on every append. Default 10 ms: under steady load other processes then hear of
   * new records up to 10 ms late (reads stay linearizable: they check the head), while each
   * NOTIFY, which wakes every LISTEN session of the database, is paid once per 10 ms.
   */
  readonly notifyCoalesceMs?: number;
  /**
   * Writers take turns on an advisory lock, in the order they asked (see append-turn.ts): a
   * writer that lost the race for the head waits for its turn and gets it back for its retry,
   * so no process starves and the commits split evenly between processes. Default false:
   * measured on the shared 2-core development machine, the turns cost aggregate throughput
   * (each turn includes its holder's WAL flush), see the postgres-writers benchmark.
   */
  readonly writerTurns?: boolean;
  /**
   * Route the commits of every process on this schema through one of them, the relay's leader
   * (see `CommitRelay` in @ordo/core). The lead is an advisory lock on this store's writer
   * session (see relay-election.ts). Default: no relay, every process appends its own batches.
   */
  readonly relay?: RelayOptions;
}

/** The PostgreSQL log store; with the `relay` option, also the election of its relay's leader. */
export interface PostgresLogStore extends LogStore {
  /** Who leads the commit relay, decided through this log; undefined without the `relay` option. */
  readonly relayElection: RelayElection | undefined;
}

/**
 * Either a connection string (the log store creates and ends its own pool) or a pool the
 * caller owns (for instance a `pg.Pool`; the log store never ends it).
 */
export type PostgresLogOptions = PostgresLogCommonOptions &
  ({ readonly connectionString: string; readonly pool?: undefined } | { readonly pool: PostgresPool; readonly connectionString?: undefined });

const schemaDefault = 'ordo';
const headPollMsDefault = 1_000;
const headPollMsMin = 10;
const appendTimeoutMsDefault = 30_000;
const notifyCoalesceMsDefault = 10;
const notifyCoalesceMsMax = 1_000;
// How long a writer that lost the race keeps its turn for the append that follows its catch-up.
const turnKeepMs = 100;
// Most records a lost append reads back with its LogHeadMovedError (the core's catch-up chunk).
const movedRecordsMax = 4_096;
// Snapshots kept in the table: the newest, and one more for an open racing with a write.
const snapshotsKept = 2;

/**
 * A log store in PostgreSQL that many processes, on many hosts, append to at once: one table,
 * one gapless total order (see append-statement.ts for how), LISTEN/NOTIFY to wake readers.
 */
export function postgresLog(options: PostgresLogOptions): PostgresLogStore {
  const tables = postgresTables(options.schema ?? schemaDefault);
  const headPollMs = options.headPollMs ?? headPollMsDefault;
  if (!Number.isSafeInteger(headPollMs) || headPollMs < headPollMsMin) {
    throw new InvalidArgumentError('headPollMs', `must be an integer >= ${headPollMsMin}`);
  }
  const appendTimeoutMs = options.appendTimeoutMs ?? appendTimeoutMsDefault;
  if (!Number.isSafeInteger(appendTimeoutMs) || appendTimeoutMs < 1) {
    throw new InvalidArgumentError('appendTimeoutMs', 'must be a positive integer');
  }
  const notifyCoalesceMs = options.notifyCoalesceMs ?? notifyCoalesceMsDefault;
  if (!Number.isFinite(notifyCoalesceMs) || notifyCoalesceMs < 0 || notifyCoalesceMs > notifyCoalesceMsMax) {
    throw new InvalidArgumentError('notifyCoalesceMs', `must be a number from 0 to ${notifyCoalesceMsMax}`);
  }
  const snapshotEvery = options.snapshotEvery;
  if (snapshotEvery !== undefined && (!Number.isSafeInteger(snapshotEvery) || snapshotEvery < 1)) {
    throw new InvalidArgumentError('snapshotEvery', 'must be a positive integer');
  }
  const writerTurns = options.writerTurns ?? false;
  if (typeof writerTurns !== 'boolean') throw new InvalidArgumentError('writerTurns', 'must be a boolean');
  const relay = options.relay;
  if (relay !== undefined && (typeof relay !== 'object' || relay === null)) throw new InvalidArgumentError('relay', 'must be an options object');
  const settings = { tables, headPollMs, appendTimeoutMs, notifyCoalesceMs, snapshotEvery, writerTurns, relay };
  if (options.pool !== undefined) return new PostgresLog({ pool: options.pool, owned: false, ...settings });
  if (typeof options.connectionString !== 'string' || options.connectionString.length === 0) {
    throw new InvalidArgumentError('connectionString', 'give a connection string or a pool');
  }
  return new PostgresLog({ pool: ownedPool(options.connectionString), owned: true, ...settings });
}

class PostgresLog implements PostgresLogStore {
  readonly name = 'postgres';
  readonly multiWriter = true;
  readonly snapshotEvery: number | undefined;
  readonly relay: CommitRelay | undefined;
  readonly relayElection: PostgresRelayElection | undefined;
  private readonly pool: PostgresPool;
  private readonly ownsPool: boolean;
  private readonly tables: PostgresTables;
  private readonly writer: WriterConnection;
  private readonly watcher: HeadWatcher;
  private readonly announcer: HeadAnnouncer;
  private readonly statements: AppendStatements;
  /**
   * The highest position this instance has seen committed (open, head, read, its own appends).
   * Rows are never deleted, so that row exists for good: an append right after it needs no
   * guard in SQL (see append-statement.ts), which saves an index lookup on every commit.
   */
  private seenHead = 0;
  private readonly writerTurns: boolean;
  /** Gives a kept turn back when no append follows it within turnKeepMs. */
  private turnTimer: ReturnType<typeof setTimeout> | undefined;

  private closed = false;

  constructor(input: {
    pool: PostgresPool;
    owned: boolean;
    tables: PostgresTables;
    headPollMs: number;
    appendTimeoutMs: number;
    notifyCoalesceMs: number;
    snapshotEvery: number | undefined;
    writerTurns: boolean;
    relay: RelayOptions | undefined;
  }) {
    this.pool = input.pool;
    this.ownsPool = input.owned;
    this.tables = input.tables;
    this.snapshotEvery = input.snapshotEvery;
    this.writerTurns = input.writerTurns;
    this.writer = new WriterConnection(input.pool, input.appendTimeoutMs);
    this.statements = new AppendStatements(input.tables);
    if (input.relay !== undefined) {
      this.relayElection = new PostgresRelayElection({ pool: input.pool, tables: input.tables, writer: this.writer });
      this.relay = new TcpCommitRelay(this.relayElection, { ...input.relay, store: this.name });
    }
    this.watcher = new HeadWatcher({
      announcements: headNotifications(input.pool, input.tables.channel),
      readHead: () => this.head(),
      pollMs: input.headPollMs,
    });
    this.announcer = new HeadAnnouncer(input.pool, input.tables.channel, input.notifyCoalesceMs, (head) => this.watcher.expectOwn(head));
  }

  async open(): Promise<LogOpenResult> {
    this.assertOpen();
    await this.guard('open', () => ensureSchema(this.pool, this.tables));
    const head = await this.head();
    const snapshot = await this.newestSnapshot(head);
    return { head, snapshot };
  }

  async append(records: readonly LogRecord[]): Promise<void> {
    this.assertOpen();
    const batch = encodeBatch(records);
    // A batch that starts under the relay lead runs on the lead's session or not at all: on
    // another session it would commit with no lock behind it (see relay-election.ts).
    const lead = this.relayElection?.session;
    let writer = this.writer.ready();
    if (lead !== undefined && writer !== lead) throw this.leadLost(batch.first);
    try {
      writer ??= await this.writer.acquire();
    } catch (error) {
      // Nothing was sent: the batch is certainly not in the log.
      throw new LogStoreError({ store: this.name, message: `cannot connect to append: ${describeError(error)}`, cause: error, outcome: 'not-written' });
    }
    if (this.turnTimer !== undefined) clearTimeout(this.turnTimer);
    this.turnTimer = undefined;
    const head = batch.first + records.length - 1;
    const notified = this.announcer.begin(head);
    const guarded = batch.first - 1 > this.seenHead;
    let written = false;
    try {
      const result = await this.runAppend({ writer, lead }, records, batch, { notify: notified, guarded });
      written = result.written;
      if (!written) throw await this.headMoved(batch.first);
      this.saw(head);
    } finally {
      // A NOTIFY is part of its transaction: if the batch is in the log, so is its notification.
      this.announcer.end({ head, written, notified });
    }
  }

  private async runAppend(
    session: { readonly writer: Writer; readonly lead: Writer | undefined },
    records: readonly LogRecord[],
    batch: EncodedBatch,
    options: AppendStatementOptions,
  ): Promise<{ written: boolean }> {
    const { writer } = session;
    if (this.writerTurns) return this.runTurnAppend(session, records, batch, options);
    this.checkLead(session.lead, batch.first);
    let result;
    try {
      result = await writer.client.query(this.statements.query(batch, options));
    } catch (error) {
      if (failedBeforeCommit(error)) return await this.rejectFailedAppend(batch.first, error);
      this.writer.discard(error, writer);
      await settleLostAppend({
        pool: this.pool,
        tables: this.tables,
        records,
        backendPid: writer.backendPid,
        backendStart: writer.backendStart,
        cause: error,
      });
      return { written: true };
    }
    return { written: (result.rowCount ?? 0) > 0 };
  }

  /** The append as one turn of the writers' lock, in one round trip (append-turn.ts). */
  private async runTurnAppend(
    session: { readonly writer: Writer; readonly lead: Writer | undefined },
    records: readonly LogRecord[],
    batch: EncodedBatch,
    options: AppendStatementOptions,
  ): Promise<{ written: boolean }> {
    const { writer } = session;
    const prepared = this.statements.prepared(batch, options);
    let results: unknown;
    try {
      if (!writer.prepared.has(prepared.name)) {
        await writer.client.query({ text: prepared.prepare });
        writer.prepared.add(prepared.name);
      }
      const text = turnSql(this.tables, { held: writer.turnHeld, prepared: prepared.name, batch, options });
      this.checkLead(session.lead, batch.first);
      writer.turnHeld = true;
      results = await writer.client.query({ text });
    } catch (error) {
      // The lead check refused before anything of the batch was sent; the turn stays as it was.
      if (error instanceof LogStoreError) throw error;
      writer.turnHeld = false;
      // Only a unique violation surely comes from the insert, before its COMMIT; any other
      // failure may come after it (the statements run in one round trip), so the log decides.
      if (isUniqueViolation(error)) {
        await writer.client.query({ text: abandonTurnSql(this.tables) }).catch((abandonError: unknown) => this.writer.discard(abandonError));
        return await this.rejectFailedAppend(batch.first, error);
      }
      this.writer.discard(error, writer);
      await settleLostAppend({ pool: this.pool, tables: this.tables, records, backendPid: writer.backendPid, backendStart: writer.backendStart, cause: error });
      return { written: true };
    }
    // A simple query of several statements answers with one result per statement.
    const list = (Array.isArray(results) ? results : [results]) as { rows: unknown[] }[];
    const written = (list.at(-1)?.rows[0] as { written?: unknown } | undefined)?.written === true;
    writer.turnHeld = !written;
    if (!written) this.keepTurnBriefly(writer);
    return { written };
  }

  /**
   * Right before the append statement is sent (with no await between the check and the send):
   * an append started under the lead still has it. A resignation clears the lead before it
   * queues its unlock, so an append that passes here is queued on the session ahead of it.
   */
  private checkLead(lead: Writer | undefined, first: number): void {
    if (lead !== undefined && this.relayElection?.session !== lead) throw this.leadLost(first);
  }

  private leadLost(first: number): LogStoreError {
    return new LogStoreError({
      store: this.name,
      message: `append at ${first} started under the relay lead, which is lost or given up: not sent`,
      outcome: 'not-written',
    });
  }

  /**
   * A writer that lost the race keeps its turn for its next append (after it read the new
   * records); if none comes soon (every request conflicted, or the store is idle), the turn
   * goes back so that the others do not wait for the server's idle timeout.
   */
  private keepTurnBriefly(writer: Writer): void {
    this.turnTimer = setTimeout(() => {
      this.turnTimer = undefined;
      if (!writer.turnHeld || this.writer.ready() !== writer) return;
      writer.turnHeld = false;
      writer.client.query({ text: releaseTurnSql(this.tables) }).catch((error: unknown) => {
        if (this.writer.ready() === writer) this.writer.discard(error);
      });
    }, turnKeepMs);
    this.turnTimer.unref();
  }

  /** The server refused the statement, so nothing of the batch is in the log; say why. */
  private async rejectFailedAppend(first: number, error: unknown): Promise<never> {
    if (!isUniqueViolation(error)) {
      throw new LogStoreError({ store: this.name, message: `append failed: ${describeError(error)}`, cause: error, outcome: 'not-written' });
    }
    const moved = await this.headMoved(first);
    // A unique violation without a moved head means the caller appended a requestId that is
    // already in the part of the log it has read: a bug in the caller, not a race.
    if (moved.actual < first) {
      throw new InternalError(`append at ${first} violates ${violatedConstraint(error) ?? 'a unique index'} with the head at ${moved.actual}`);
    }
    throw moved;
  }

  /**
   * The error for a batch that lost the race for position `first`. It carries the records from
   * `first` on, read in the one round trip that finds the head (the owner folds them rather
   * than asking for the head and reading them again); the last of them is the head as that read
   * saw it. Only when there are none (the head is below `first`) is the head asked for.
   */
  private async headMoved(first: number): Promise<LogHeadMovedError> {
    const records = await this.read(first, movedRecordsMax);
    if (records.length === 0) return new LogHeadMovedError({ expected: first, actual: await this.head() });
    return new LogHeadMovedError({ expected: first, actual: first + records.length - 1, records });
  }

  async read(from: number, limit: number): Promise<LogRecord[]> {
    checkReadRange(from, limit);
    this.assertOpen();
    const result = await this.guard('read', () =>
      this.pool.query({
        name: `ordo_read_${this.tables.schema}`,
        text: `SELECT position::text AS at, record::text AS body FROM ${this.tables.records}
               WHERE position >= $1 ORDER BY position LIMIT $2`,
        values: [from, limit],
      }),
    );
    // Aliases differ from the column names so that ORDER BY sorts the bigint, not its text.
    const records = this.decodeRows(from, result.rows as { at: string; body: string }[]);
    // Only rows actually returned prove that a position exists.
    if (records.length > 0) this.saw(from + records.length - 1);
    return records;
  }

  /**
   * One statement in its own transaction (READ COMMITTED): its snapshot is taken when it
   * starts, so it sees every append whose COMMIT was acknowledged before head() was called.
   */
  async head(): Promise<number> {
    this.assertOpen();
    const result = await this.guard('head', () =>
      this.pool.query({
        name: `ordo_head_${this.tables.schema}`,
        text: `SELECT coalesce(max(position), 0)::text AS head FROM ${this.tables.records}`,
      }),
    );
    const head = positionFromText(this.tables.records, (result.rows[0] as { head: string } | undefined)?.head);
    this.saw(head);
    return head;
  }

  /** Decodes rows read from position `from` on, checking that they have no gap. */
  private decodeRows(from: number, rows: readonly { at: string; body: string }[]): LogRecord[] {
    return rows.map((row, index) => {
      const position = positionFromText(this.tables.records, row.at);
      // Gapless by construction; a hole here means the table was damaged or edited by hand.
      if (position !== from + index) {
        throw new LogCorruptError({ store: 'postgres', location: this.tables.records, position: from + index, reason: `position ${from + index} is missing` });
      }
      return decodeRecord(this.tables.records, position, row.body);
    });
  }

  private saw(position: number): void {
    if (position > this.seenHead) this.seenHead = position;
  }

  subscribe(listener: (head: number) => void): () => void {
    if (this.closed) return () => undefined;
    return this.watcher.add(listener);
  }

  async writeSnapshot(snapshot: Snapshot): Promise<void> {
    this.assertOpen();
    // The head is the database's: it is checked in the INSERT below.
    checkSnapshot(snapshot);
    // Snapshots from several processes may arrive for the same position; they fold the same
    // records, so the first one stays.
    const written = await this.guard('writeSnapshot', () =>
      this.pool.query({
        text: `INSERT INTO ${this.tables.snapshots} (position, snapshot)
               SELECT $1, $2::json WHERE $1 <= (SELECT coalesce(max(position), 0) FROM ${this.tables.records})
               ON CONFLICT (position) DO NOTHING`,
        values: [snapshot.position, JSON.stringify(snapshot)],
      }),
    );
    if (written.rowCount === 0) {
      const head = await this.head();
      if (snapshot.position > head) throw snapshotBeyondHead(snapshot.position, head);
    }
    // Only the newest snapshots are ever loaded; older ones are dropped so the table stays small.
    await this.guard('writeSnapshot', () =>
      this.pool.query({
        text: `DELETE FROM ${this.tables.snapshots} WHERE position <
                 (SELECT position FROM ${this.tables.snapshots} ORDER BY position DESC OFFSET $1 LIMIT 1)`,
        values: [snapshotsKept - 1],
      }),
    );
  }

  private async newestSnapshot(head: number): Promise<Snapshot | undefined> {
    const result = await this.guard('open', () =>
      this.pool.query({
        text: `SELECT position::text AS at, snapshot::text AS body FROM ${this.tables.snapshots}
               WHERE position <= $1 ORDER BY position DESC LIMIT 1`,
        values: [head],
      }),
    );
    const row = result.rows[0] as { at: string; body: string } | undefined;
    if (row === undefined) return undefined;
    const position = positionFromText(this.tables.snapshots, row.at);
    return decodeSnapshot(this.tables.snapshots, position, row.body);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.turnTimer !== undefined) clearTimeout(this.turnTimer);
    this.watcher.close();
    await this.announcer.close();
    this.writer.release();
    if (this.ownsPool) await this.pool.end();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }

  /** Runs a read-side step; failures become LogStoreError, Ordo's own errors pass through. */
  private async guard<T>(step: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (isOrdoError(error)) throw error;
      throw new LogStoreError({ store: this.name, message: `${step} failed: ${describeError(error)}`, cause: error });
    }
  }
}
