import type { EncodedBatch } from './record-codec.js';
import type { PostgresQuery } from './postgres-pool.js';
import type { PostgresTables } from './postgres-tables.js';

export interface AppendStatementOptions {
  /** NOTIFY the new head in the same statement (see head-announcer.ts). */
  readonly notify: boolean;
  /**
   * Insert only if position first - 1 exists. Needed unless this process has seen that row
   * itself (rows are never deleted, so a row once seen is there for good).
   */
  readonly guarded: boolean;
  /**
   * For a writer holding its turn (append-turn.ts): insert nothing, rather than fail on the
   * primary key, when position first is already taken, so that a writer that lost the race
   * keeps its turn for the retry. The guard checks position first - 1 and first together, so
   * the batch goes in whole at exactly head + 1 or not at all.
   */
  readonly vacant?: boolean;
}

/**
 * The statements that append a batch; a statement's row count is 0 when the guard found the
 * head elsewhere (see below) and positive when the batch went in.
 *
 * One append is one autocommit statement, so one round trip and one COMMIT (one WAL flush)
 * for the whole batch, however many records the core grouped into it.
 *
 * How positions stay gapless with many writers:
 * - The batch is inserted at the positions the caller expects (head + 1 ...), and `position` is
 *   the primary key: two writers can never both insert position N. When they race, the second
 *   one waits on the first one's index entry and fails with a unique violation once the first
 *   commits (or goes ahead if the first rolled back).
 * - A batch goes in only if position first - 1 exists (or first is 1): either this process
 *   saw that row committed before (open, head, read or its own append), or the statement's
 *   guard finds it. Rows are never deleted, so by induction the positions in the table are
 *   always exactly 1..head: a batch can neither leave a hole below itself nor land beyond the
 *   head. A writer whose view is stale hits the unique violation (its start is taken) or, when
 *   guarded, inserts nothing (its start is beyond the head); either way the log store reports
 *   LogHeadMovedError with the actual head, and the core reads the new records, folds them and
 *   revalidates.
 * - A writer that fails or dies mid-statement leaves nothing: the statement is atomic.
 * - `request_id` is unique too: a requestId that another process committed first makes the
 *   insert fail the same way, and the core finds that record when it catches up (I7).
 *
 * When `notify` is set, the same statement NOTIFYs the new head; PostgreSQL delivers it on
 * commit, and only if rows were inserted.
 */
export class AppendStatements {
  /** Statement texts by variant, built once: an append is the hot path. */
  private readonly texts = new Map<string, string>();

  constructor(private readonly tables: PostgresTables) {}

  query(batch: EncodedBatch, options: AppendStatementOptions): PostgresQuery {
    const one = batch.records.length === 1;
    const name = `ordo_append_${one ? 'one' : 'many'}_${options.guarded ? 'guarded' : 'seen'}_${options.notify ? 'notify' : 'quiet'}_${this.tables.schema}`;
    let text = this.texts.get(name);
    if (text === undefined) {
      text = one ? appendOneText(this.tables, options) : appendManyText(this.tables, options);
      this.texts.set(name, text);
    }
    const channel = options.notify ? [this.tables.channel] : [];
    if (one) return { name, text, values: [batch.first, batch.txIds[0], batch.requestIds[0], batch.records[0], ...channel] };
    // The records travel as one text, one per line: JSON.stringify never writes a line break
    // (it escapes them inside strings), and a plain text needs none of the quoting and escaping
    // of an array literal, which would cost the client and the server a pass over every byte.
    return { name, text, values: [batch.first, batch.txIds, batch.requestIds, batch.records.join('\n'), ...channel] };
  }

  /**
   * The same statement as a server-side prepared statement, for appends that go as a simple
   * query of several statements (append-turn.ts): its name (the writer session serves one log,
   * so the name needs no schema) and the PREPARE that creates it.
   */
  prepared(batch: EncodedBatch, options: AppendStatementOptions): { readonly name: string; readonly prepare: string } {
    const one = batch.records.length === 1;
    const name = `ordo_turn_${one ? 'one' : 'many'}_${options.guarded ? 'guarded' : 'seen'}_${options.notify ? 'notify' : 'quiet'}`;
    options = { ...options, vacant: true };
    const types = [one ? 'bigint, text, text, text' : 'bigint, text[], text[], text', ...(options.notify ? ['text'] : [])].join(', ');
    const text = one ? appendOneText(this.tables, options) : appendManyText(this.tables, options);
    return { name, prepare: `PREPARE ${name} (${types}) AS ${text}` };
  }
}

function guardOf(tables: PostgresTables, options: AppendStatementOptions): string {
  const below = `($1::bigint = 1 OR EXISTS (SELECT 1 FROM ${tables.records} WHERE position = $1::bigint - 1))`;
  const vacant = `NOT EXISTS (SELECT 1 FROM ${tables.records} WHERE position = $1::bigint)`;
  if (options.vacant === true) return options.guarded ? `WHERE ${below} AND ${vacant}` : `WHERE ${vacant}`;
  return options.guarded ? `WHERE ${below}` : '';
}

/**
 * The common case at low load has its own statements: no arrays to encode and unnest, and
 * without a NOTIFY not even a RETURNING (the row count tells whether the row went in).
 */
function appendOneText(tables: PostgresTables, options: AppendStatementOptions): string {
  const insert = `INSERT INTO ${tables.records} (position, tx_id, request_id, record) SELECT $1, $2, $3, $4::json ${guardOf(tables, options)}`;
  return options.notify ? `${insert} RETURNING pg_notify($5, $1::text) AS notified` : insert;
}

function appendManyText(tables: PostgresTables, options: AppendStatementOptions): string {
  const notify = options.notify ? `pg_notify($5, (max(position))::text)` : 'NULL';
  return `WITH inserted AS (
      INSERT INTO ${tables.records} (position, tx_id, request_id, record)
      SELECT $1::bigint + batch.ordinal - 1, batch.tx_id, batch.request_id, batch.record::json
      FROM unnest($2::text[], $3::text[], string_to_array($4, E'\\n')) WITH ORDINALITY AS batch (tx_id, request_id, record, ordinal)
      ${guardOf(tables, options)}
      RETURNING position)
    SELECT ${notify} AS notified FROM inserted HAVING count(*) > 0`;
}
