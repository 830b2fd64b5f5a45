import { InternalError, InvalidArgumentError } from './errors.js';
import type { LogRecord, Snapshot } from './record.js';

/**
 * The argument checks of the `LogStore` contract (log-store.ts), written once: every store
 * calls them before it does anything else, so a caller's mistake is refused the same way by
 * the memory, file and PostgreSQL stores, and a new store gets them for free. They cost one
 * pass over a batch, with no allocation unless a record carries a requestId.
 *
 * A bad read range is a caller's argument (`InvalidArgumentError`, naming `from` or `limit`);
 * a malformed batch or snapshot can only come from a bug in the owner, which builds them
 * (`InternalError`). Conditions that depend on the log (head + 1, the first record still held,
 * a snapshot beyond the head) are each store's to check, against its own source of truth.
 */

/** Most records one `append` may carry (the core sends at most batchRecordsMax, 2,048). */
export const appendRecordsMax = 65_536;

/** `read(from, limit)`: `from` and `limit` are integers >= 1. */
export function checkReadRange(from: number, limit: number): void {
  if (!Number.isSafeInteger(from) || from < 1) throw new InvalidArgumentError('from', `must be an integer >= 1, got ${String(from)}`);
  if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidArgumentError('limit', `must be an integer >= 1, got ${String(limit)}`);
}

/**
 * `append(records)`: 1 to appendRecordsMax records at consecutive positions from an integer
 * >= 1, each with a txId, no requestId twice. Returns the first position. `each`, when given,
 * runs for every record once its checks passed, so that a store adds checks of its own or
 * encodes the batch in the same pass.
 */
export function checkAppendBatch(records: readonly LogRecord[], each?: (record: LogRecord) => void): number {
  const first = records[0]?.position;
  if (first === undefined) throw new InternalError('append of an empty batch');
  if (records.length > appendRecordsMax) throw new InternalError(`append of ${records.length} records, more than ${appendRecordsMax}`);
  if (!Number.isSafeInteger(first) || first < 1) throw new InternalError(`append batch starts at position ${String(first)}`);
  let requestIds: Set<string> | undefined;
  for (let index = 0; index < records.length; index += 1) {
    const record = records[index] as LogRecord;
    if (record.position !== first + index) throw new InternalError(`append batch positions are not consecutive at ${first + index}`);
    if (typeof record.txId !== 'string' || record.txId.length === 0) throw new InternalError(`record ${record.position} has no txId`);
    const { requestId } = record;
    if (requestId !== undefined) {
      requestIds ??= new Set();
      if (requestIds.has(requestId)) throw new InternalError(`requestId ${requestId} twice in one append batch`);
      requestIds.add(requestId);
    }
    each?.(record);
  }
  return first;
}

/** `writeSnapshot(snapshot)`: format 1 at an integer position >= 0; `head`, when given, bounds it. */
export function checkSnapshot(snapshot: Snapshot, head?: number): void {
  const { position } = snapshot;
  if (snapshot.format !== 1) throw new InternalError(`snapshot format ${String(snapshot.format)} is not 1`);
  if (!Number.isSafeInteger(position) || position < 0) throw new InternalError(`snapshot at position ${String(position)}`);
  if (head !== undefined && position > head) throw snapshotBeyondHead(position, head);
}

/** The error for a snapshot past the log's head, for stores that learn the head later (PostgreSQL). */
export function snapshotBeyondHead(position: number, head: number): InternalError {
  return new InternalError(`snapshot at ${position} is beyond the head ${head}`);
}
