import { isOrdoError } from '../errors.js';
import type { LogRecord } from '../record.js';
import type { Store } from '../store.js';
import { OperationError } from './operation-error.js';
import { readMeta, recordChanges, type RuntimeMeta } from './operation-meta.js';
import { applyAndRecord, finishOperation, type CommittedOperation, type RuntimeContext } from './settle.js';

/** The most records recovery reads back from the head looking for unsettled operations. */
export const recoveryScanRecordsMax = 100_000;
/** Records per read while scanning back. */
const recoveryReadRecords = 1_000;

/** What recovery did with one unsettled record it found in the log. */
export interface RecoveredOperation {
  readonly operation: string;
  readonly position: number;
  readonly txId: string;
  /** An operation is finished ('applied') or, when an adapter fails again, 'reverted'; a compensation is re-applied. */
  readonly record: 'operation' | 'compensation';
  readonly outcome: 'applied' | 'reverted';
  readonly error?: OperationError;
}

interface Unsettled {
  readonly record: LogRecord;
  readonly meta: Extract<RuntimeMeta, { type: 'operation' | 'compensation' }>;
}

/**
 * Finds, from the log alone, the records the runtime committed whose outcome was never
 * recorded (a crash between commit and the outcome), and settles them in position order:
 * an operation is applied again (adapters are idempotent) and reverted if that fails; a
 * compensation is applied again. Throws RECOVERY_FAILED when a revert cannot be applied.
 */
export async function recover(context: RuntimeContext): Promise<RecoveredOperation[]> {
  const recovered: RecoveredOperation[] = [];
  for (const { record, meta } of await findUnsettled(context.store)) {
    const name = record.operation ?? 'unknown';
    const committed: CommittedOperation = { name, txId: record.txId, position: record.position, changes: recordChanges(record, meta.before), adapters: meta.adapters };
    const base = { operation: name, position: record.position, txId: record.txId, record: meta.type };
    if (meta.type === 'operation') {
      const report = await finishOperation(context, committed, true);
      if (report.unsettled !== undefined) throw recoveryFailed(report.unsettled, report.error);
      recovered.push(report.error === undefined ? { ...base, outcome: 'applied' } : { ...base, outcome: 'reverted', error: report.error });
      continue;
    }
    const failure = await applyAndRecord(context, committed, true);
    if (failure !== undefined) throw recoveryFailed(committed, failure);
    recovered.push({ ...base, outcome: 'reverted' });
  }
  return recovered;
}

/** The runtime must not serve new operations over infrastructure it cannot make agree with the log. */
function recoveryFailed(compensation: CommittedOperation, failure: OperationError | undefined): OperationError {
  return new OperationError({
    code: 'RECOVERY_FAILED',
    message: `cannot apply the revert at position ${compensation.position} of ${compensation.name}: ${failure?.message ?? 'unknown failure'}`,
    step: 'apply',
    ...(failure?.adapter === undefined ? {} : { adapter: failure.adapter }),
    ...(failure?.entity === undefined ? {} : { entity: failure.entity }),
    cause: failure,
  });
}

/**
 * Scans back from the head. The runtime settles each operation before it commits the next,
 * so the scan stops at the newest settled operation or compensation: everything before it
 * was settled when it was written.
 */
async function findUnsettled(store: Store): Promise<Unsettled[]> {
  const settled = new Set<string>();
  const unsettled: Unsettled[] = [];
  let to = store.position;
  let scanned = 0;
  while (to >= 1 && scanned < recoveryScanRecordsMax) {
    const from = Math.max(1, to - recoveryReadRecords + 1);
    const records = await readOrStop(store, from, to - from + 1);
    if (records === undefined) break;
    for (let index = records.length - 1; index >= 0; index -= 1) {
      const record = records[index];
      scanned += 1;
      const meta = record === undefined ? undefined : readMeta(record);
      if (record === undefined || meta === undefined) continue;
      if (meta.type === 'outcome') {
        settled.add(meta.of);
        continue;
      }
      if (meta.type === 'compensation') settled.add(meta.of);
      if (meta.adapters.length === 0 || settled.has(record.txId)) return unsettled.reverse();
      unsettled.push({ record, meta });
    }
    to = from - 1;
  }
  return unsettled.reverse();
}

/** Records, or undefined when the log store no longer holds them (pruned behind a snapshot). */
async function readOrStop(store: Store, from: number, limit: number): Promise<readonly LogRecord[] | undefined> {
  try {
    return await store.read({ from, limit });
  } catch (error) {
    if (isOrdoError(error, 'HISTORY_UNAVAILABLE')) return undefined;
    throw error;
  }
}
