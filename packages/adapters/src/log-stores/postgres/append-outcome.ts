import { InternalError, LogStoreError, type LogRecord } from '@ordo/core';
import { describeError } from './postgres-errors.js';
import type { PostgresPool } from './postgres-pool.js';
import type { PostgresTables } from './postgres-tables.js';

// How many times, and how far apart, to try settling an append whose connection broke.
const outcomeChecksMax = 5;
const outcomeCheckDelayMs = 200;
// How long pg_terminate_backend waits for the old session to exit.
const terminateWaitMs = 5_000;

/**
 * Settles an append whose connection broke before the answer came: the COMMIT may or may not
 * have happened. First make sure the old session can no longer commit (it may still be alive
 * if only the network broke: terminate it and wait until it has exited), then look at the
 * positions the batch was meant to take: our txIds there means the batch is in the log (resolve);
 * anything else there, or nothing, means it is not and never will be (reject with LogStoreError).
 * If the server stays unreachable, the outcome stays unknown (LogStoreError saying so); the next
 * append at those positions is still safe, because the log itself decides: it fails with a
 * unique violation if the lost batch went in after all, and the core then reads it.
 */
export async function settleLostAppend(input: {
  pool: PostgresPool;
  tables: PostgresTables;
  records: readonly LogRecord[];
  backendPid: number;
  backendStart: string;
  cause: unknown;
}): Promise<void> {
  let lastError: unknown = input.cause;
  for (let check = 1; check <= outcomeChecksMax; check += 1) {
    try {
      const written = await batchWritten(input);
      if (written) return;
      throw new LogStoreError({
        store: 'postgres',
        message: `append of positions ${rangeOf(input.records)} failed and was not written: ${describeError(input.cause)}`,
        cause: input.cause,
        outcome: 'not-written',
      });
    } catch (error) {
      if (error instanceof LogStoreError || error instanceof InternalError) throw error;
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, outcomeCheckDelayMs * check));
    }
  }
  throw new LogStoreError({
    store: 'postgres',
    message: `append of positions ${rangeOf(input.records)} lost its connection and the outcome is unknown: ${describeError(lastError)}`,
    cause: lastError,
  });
}

async function batchWritten(input: {
  pool: PostgresPool;
  tables: PostgresTables;
  records: readonly LogRecord[];
  backendPid: number;
  backendStart: string;
}): Promise<boolean> {
  const terminated = await input.pool.query({
    text: `SELECT bool_and(pg_terminate_backend(pid, ${terminateWaitMs})) AS gone
           FROM pg_stat_activity WHERE pid = $1 AND backend_start = $2::timestamptz AND pid <> pg_backend_pid()`,
    values: [input.backendPid, input.backendStart],
  });
  const gone = (terminated.rows[0] as { gone: boolean | null } | undefined)?.gone;
  if (gone === false) throw new Error(`session ${input.backendPid} did not exit within ${terminateWaitMs} ms`);
  const first = input.records[0]!.position;
  const last = first + input.records.length - 1;
  const result = await input.pool.query({
    text: `SELECT position::text AS at, tx_id FROM ${input.tables.records}
           WHERE position BETWEEN $1 AND $2 ORDER BY position`,
    values: [first, last],
  });
  const rows = result.rows as { at: string; tx_id: string }[];
  const matching = rows.filter((row, index) => row.tx_id === input.records[index]?.txId).length;
  if (matching === 0) return false;
  // A batch is inserted by one statement: all of it or none of it can be there.
  if (matching !== input.records.length) {
    throw new InternalError(`append of positions ${rangeOf(input.records)} is only partly in the log`);
  }
  return true;
}

function rangeOf(records: readonly LogRecord[]): string {
  const first = records[0]?.position ?? 0;
  return `${first}..${first + records.length - 1}`;
}
