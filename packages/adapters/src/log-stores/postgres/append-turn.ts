import type { EncodedBatch } from './record-codec.js';
import type { AppendStatementOptions } from './append-statement.js';
import type { PostgresTables } from './postgres-tables.js';

// First key of the two-key advisory lock that gives writers their turn ('ORDT' in ASCII); the
// second is a hash of the schema name, so different logs do not wait for each other.
const turnLockKey = 0x4f524454;

/**
 * Writers of one log take turns: a session-level advisory lock on the writer connection, which
 * PostgreSQL grants in the order it was asked for. Without it, writers race for head + 1 and
 * every loser's append is thrown away; the more processes, the more losers, and the process
 * that just won (it knows the head) tends to win again.
 *
 * One append is one round trip, a simple query of several statements:
 *
 *   SELECT pg_advisory_lock(...);          -- unless this session still holds its turn
 *   BEGIN; EXECUTE ordo_append...; COMMIT; -- the insert of append-statement.ts
 *   SELECT ... pg_advisory_unlock(...)     -- only when the batch went in
 *
 * The insert runs after the lock is granted, so its snapshot sees every batch of the writers
 * before it; the lock is given up only after COMMIT, so the next writer sees this one's batch.
 * When the batch was built on a stale head (another writer went first), nothing is inserted
 * and the session keeps its turn: the owner reads the new records, validates again and
 * appends once more, and no other writer can move the head meanwhile. So a loser waits, in
 * order, instead of failing again and again.
 *
 * A kept turn is bounded: the session's idle_session_timeout makes the server end a session
 * that holds its turn idle for longer than `turnIdleMsMax` (a writer that hangs, or whose
 * network is cut), and the log store gives the turn back itself if no append follows soon
 * (see postgres-log.ts). Positions stay gapless whatever happens to the lock: the position
 * primary key and the insert's guard (append-statement.ts) decide what goes in, the turn only
 * decides who tries when, so logs with and without turns can share a schema.
 *
 * What it costs, measured with the postgres-writers benchmark on the shared 2-core machine:
 * the split of commits between processes is even (for 8 x 8, 11.5% to 12.8% each, against
 * 0.5% to 52% when racing, in runs of 2026-12-02), but aggregate throughput is lower than
 * racing. Under contention nearly every turn is granted to a writer whose batch is stale (it
 * was built before the previous holder's insert), so a turn spans a catch-up (head and read, two round trips) and the
 * holder's own WAL flush, and turns run one after the other. Hence it is an option, off by
 * default. Making the turn cheaper needs the catch-up before the batch is built, which the
 * LogStore interface (append of a finished batch) does not offer today.
 */
export const turnIdleMsMax = 5_000;

export function turnSql(tables: PostgresTables, input: {
  readonly held: boolean;
  readonly prepared: string;
  readonly batch: EncodedBatch;
  readonly options: AppendStatementOptions;
}): string {
  const { batch, options } = input;
  const key = `${turnLockKey}, hashtext(${literal(tables.schema)})`;
  const one = batch.records.length === 1;
  const values = one
    ? [String(batch.first), literal(batch.txIds[0]!), nullable(batch.requestIds[0] ?? null), literal(batch.records[0]!)]
    : [String(batch.first), textArray(batch.txIds), textArray(batch.requestIds), literal(batch.records.join('\n'))];
  if (options.notify) values.push(literal(tables.channel));
  const last = batch.first + batch.records.length - 1;
  const lastTxId = literal(batch.txIds[batch.txIds.length - 1]!);
  const ours = `EXISTS (SELECT 1 FROM ${tables.records} WHERE position = ${last} AND tx_id = ${lastTxId})`;
  return [
    input.held ? '' : `SELECT pg_advisory_lock(${key});`,
    `BEGIN; EXECUTE ${input.prepared}(${values.join(', ')}); COMMIT;`,
    `SELECT turn.written, CASE WHEN turn.written THEN pg_advisory_unlock(${key}) END AS released,
       set_config('idle_session_timeout', CASE WHEN turn.written THEN '0' ELSE '${turnIdleMsMax}ms' END, false) AS idle
     FROM (SELECT ${ours} AS written) AS turn;`,
  ].join('\n');
}

/** Gives the turn back (when no append followed a kept turn soon enough). */
export function releaseTurnSql(tables: PostgresTables): string {
  return `SELECT pg_advisory_unlock(${turnLockKey}, hashtext(${literal(tables.schema)})), set_config('idle_session_timeout', '0', false)`;
}

/**
 * After a failed append: leave the aborted transaction and the turn. Only the turn: the same
 * session may hold the relay lead (relay-election.ts), which pg_advisory_unlock_all() would
 * drop behind the election's back. The turn is held exactly once here (it is taken only when
 * not held), so one unlock gives it back.
 */
export function abandonTurnSql(tables: PostgresTables): string {
  return `ROLLBACK; ${releaseTurnSql(tables)}`;
}

/**
 * A string constant that means the same whatever standard_conforming_strings says: the E''
 * form, in which only the backslash and the quote need escaping. Record texts are JSON, whose
 * own escapes (\n, \") are backslashes too, so they are doubled like every other.
 */
function literal(text: string): string {
  return `E'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function nullable(text: string | null): string {
  return text === null ? 'NULL' : literal(text);
}

function textArray(texts: readonly (string | null)[]): string {
  return `ARRAY[${texts.map(nullable).join(', ')}]::text[]`;
}
