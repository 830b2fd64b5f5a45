import { LogCorruptError, LogStoreError } from '@ordo/core';
import { LeadState } from '../relay/lead-state.js';
import type { RelayElection, RelayLeader } from '../relay/election.js';
import { checkRelayAddress } from '../relay/relay-address.js';
import { describeError, failedBeforeCommit } from './postgres-errors.js';
import type { PostgresPool } from './postgres-pool.js';
import type { PostgresTables } from './postgres-tables.js';
import type { Writer, WriterConnection } from './writer-connection.js';

// First key of the two-key advisory lock that is the relay lead ('ORDL' in ASCII); the second
// is a hash of the schema name, as for the open lock (postgres-schema.ts) and the writers'
// turn (append-turn.ts), whose first keys differ.
const leadLockKey = 0x4f52444c;

/**
 * The commit relay's lead for a PostgreSQL log: a session-level advisory lock taken on the
 * writer session, the very session every append of this log store runs on, plus one row in
 * the schema's relay table (address, term, and the session that holds the lock) that the
 * holder writes in the statement that takes the lock.
 *
 * Fencing comes from the session: a lock is held until its session ends, and an append runs
 * on that session, so no append of a lead can commit once its lock is free for another one
 * (PostgreSQL releases a session's locks only after its last transaction ended). When the log
 * store's writer session is found broken, discarded or closed, the writer connection tells
 * this election synchronously, before it hands out another session; the lead is then lost
 * (`term` undefined, `onLost` called), and an append that was started under it and finds
 * another session refuses to run there (postgres-log.ts).
 *
 * `leader()` is the row whose session holds the lock right now (pg_locks). A pid may be reused
 * by a later session, so a row whose pid now belongs to a session that started at another time
 * is no lead either; pg_stat_activity shows a session's start only to its own role (or to
 * pg_read_all_stats), and where it hides it the pid alone decides. That errs on the safe side:
 * a reused pid that took the lock writes its own row in the same statement, so the most a
 * reader can see is an old lead for a moment longer, never a live lead as over.
 */
export class PostgresRelayElection implements RelayElection {
  private readonly lead = new LeadState<Writer>();
  private readonly key: { readonly first: number; readonly schema: string };

  constructor(
    private readonly input: { readonly pool: PostgresPool; readonly tables: PostgresTables; readonly writer: WriterConnection },
  ) {
    this.key = { first: leadLockKey, schema: input.tables.schema };
    input.writer.onSessionEnd((writer) => this.lead.lose(writer));
  }

  get term(): string | undefined {
    return this.lead.term;
  }

  /** The writer session the lead is held on, while leading: appends under the lead must run there. */
  get session(): Writer | undefined {
    return this.lead.fence;
  }

  onLost(listener: () => void): () => void {
    return this.lead.onLost(listener);
  }

  claim(address: string): Promise<string | undefined> {
    checkRelayAddress(address);
    return this.lead.inTurn(() => this.claimOnce(address));
  }

  private async claimOnce(address: string): Promise<string | undefined> {
    const held = this.lead.fence;
    if (held !== undefined) return this.confirm(held);
    let writer: Writer;
    try {
      writer = await this.input.writer.acquire();
    } catch (error) {
      throw this.failure('claim: cannot connect', error);
    }
    if (this.lead.fence !== undefined) return this.confirm(this.lead.fence);
    const term = LeadState.newTerm();
    let taken: boolean;
    try {
      const result = await writer.client.query({
        // The lock function is volatile, so the CTE runs once; the row is written only when the
        // lock was granted, in the same statement (one round trip, one commit).
        text: `WITH lead AS MATERIALIZED (SELECT pg_try_advisory_lock($1, hashtext($2)) AS held)
               INSERT INTO ${this.input.tables.relay} (slot, address, term, pid, backend_start)
               SELECT 1, $3, $4, $5, $6::timestamptz FROM lead WHERE lead.held
               ON CONFLICT (slot) DO UPDATE SET address = excluded.address, term = excluded.term,
                 pid = excluded.pid, backend_start = excluded.backend_start
               RETURNING term`,
        values: [this.key.first, this.key.schema, address, term, writer.backendPid, writer.backendStart],
      });
      taken = result.rows.length === 1;
    } catch (error) {
      await this.abandonClaim(writer, error);
      throw this.failure('claim failed', error);
    }
    if (!taken) return undefined;
    // The session may have ended while the statement ran: then the lock went with it.
    if (this.input.writer.ready() !== writer) return undefined;
    this.lead.take(term, writer);
    return term;
  }

  /** A claim while leading: the lock must still be this session's (a statement on it tells). */
  private async confirm(writer: Writer): Promise<string | undefined> {
    const term = this.lead.term;
    try {
      const result = await writer.client.query({ text: `SELECT (${this.heldByUs()}) AS held`, values: [this.key.first, this.key.schema] });
      if ((result.rows[0] as { held?: unknown } | undefined)?.held === true) return this.lead.fence === writer ? term : undefined;
    } catch (error) {
      if (!failedBeforeCommit(error)) this.input.writer.discard(error, writer);
      this.lead.lose(writer);
      throw this.failure('claim: the lead session failed', error);
    }
    // A granted session lock cannot go away while its session lives: this is a bug.
    this.lead.lose(writer);
    return undefined;
  }

  /**
   * The claim statement failed. The lock may have been granted before the insert failed (a
   * session lock outlives the transaction that took it), so: on a live session give it back if
   * held; on a broken one the session goes, and the lock with it.
   */
  private async abandonClaim(writer: Writer, error: unknown): Promise<void> {
    if (!failedBeforeCommit(error)) {
      this.input.writer.discard(error, writer);
      return;
    }
    try {
      await writer.client.query({
        text: `SELECT pg_advisory_unlock($1, hashtext($2)) WHERE ${this.heldByUs()}`,
        values: [this.key.first, this.key.schema],
      });
    } catch (unlockError) {
      this.input.writer.discard(unlockError, writer);
    }
  }

  async leader(): Promise<RelayLeader | undefined> {
    let result;
    try {
      result = await this.input.pool.query({
        text: `SELECT r.address, r.term FROM ${this.input.tables.relay} AS r
               JOIN pg_locks AS l ON ${this.lockRow('l')} AND l.pid = r.pid
               WHERE r.slot = 1 AND NOT EXISTS (
                 SELECT 1 FROM pg_stat_activity AS a WHERE a.pid = r.pid AND a.backend_start <> r.backend_start)`,
        values: [this.key.first, this.key.schema],
      });
    } catch (error) {
      throw this.failure('leader: read failed', error);
    }
    const row = result.rows[0] as { address?: unknown; term?: unknown } | undefined;
    if (row === undefined) return undefined;
    if (typeof row.address !== 'string' || typeof row.term !== 'string') {
      throw new LogCorruptError({ store: 'postgres', location: this.input.tables.relay, reason: 'the lead row has no address or term' });
    }
    return { address: row.address, term: row.term };
  }

  async resign(): Promise<void> {
    const term = this.lead.term;
    // Cleared first: an append that starts from now on is not one of this lead's (appends
    // check the lead right before they send, so none is queued behind the unlock under it).
    const writer = this.lead.giveUp();
    if (writer === undefined || term === undefined || this.input.writer.ready() !== writer) return;
    try {
      await writer.client.query({
        text: `WITH gone AS (DELETE FROM ${this.input.tables.relay} WHERE slot = 1 AND term = $3)
               SELECT pg_advisory_unlock($1, hashtext($2)) AS released`,
        values: [this.key.first, this.key.schema, term],
      });
    } catch (error) {
      // The lock must not outlive the resignation: ending the session gives it up for sure.
      this.input.writer.discard(error, writer);
    }
  }

  /** A condition on pg_locks row `alias`: it is the lead's lock of this schema, granted. */
  private lockRow(alias: string): string {
    return `${alias}.locktype = 'advisory' AND ${alias}.granted AND ${alias}.objsubid = 2
            AND ${alias}.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND ${alias}.classid = $1::int4::oid AND ${alias}.objid = hashtext($2)::oid`;
  }

  private heldByUs(): string {
    return `EXISTS (SELECT 1 FROM pg_locks AS l WHERE ${this.lockRow('l')} AND l.pid = pg_backend_pid())`;
  }

  private failure(message: string, error: unknown): LogStoreError {
    return new LogStoreError({ store: 'postgres', message: `relay ${message}: ${describeError(error)}`, cause: error, outcome: 'not-written' });
  }
}
