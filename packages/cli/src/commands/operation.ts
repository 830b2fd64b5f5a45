import { NotFoundError, readRuntimeMeta, type JsonObject, type LogRecord, type LogStore, type RuntimeMeta } from '@ordo/core';
import type { CommandInput } from '../command-input.js';
import { recordBatches } from '../read-records.js';
import { changeText } from '../record-text.js';
import { isoTime, keyValues } from '../text-table.js';

/** What happened after an operation's commit, from the records that name it. */
interface Settlement {
  readonly type: 'compensation' | 'outcome';
  readonly position: number;
  readonly txId: string;
  /** Milliseconds from the operation's commit to this record. */
  readonly afterMs: number;
  /** The txId this record settles (the operation, or its compensation). */
  readonly of: string;
  readonly recovered?: boolean;
  readonly error?: JsonObject;
}

/** Records between a settling record and its operation: outcome -> compensation -> operation. */
const settleHopsMax = 2;

type Status = 'not an operation' | 'finished at commit' | 'succeeded' | 'compensated' | 'compensating' | 'unsettled';

/**
 * `ordo operation POSITION|REQUEST_ID`: the story of one operation from the log alone: its
 * record, adapters, outcome or compensation with the error, and the time from commit to outcome.
 */
export async function operationCommand(input: CommandInput): Promise<number> {
  const key = input.positional(0, 'POSITION or REQUEST_ID');
  const log = input.target().openLog({ writable: false });
  try {
    const { head } = await log.open();
    let record = await findRecord(log, key, head);
    // An outcome or compensation: tell the story of the operation it settles (an outcome of a
    // compensation is two steps away from it).
    for (let hop = 0; hop < settleHopsMax; hop += 1) {
      const meta = readRuntimeMeta(record);
      if (meta === undefined || meta.type === 'operation' || meta.ofPosition >= record.position) break;
      record = await recordAt(log, meta.ofPosition, key);
    }
    const ownMeta = readRuntimeMeta(record);
    const settlements = ownMeta?.type === 'operation' ? await settlementsOf(log, record, head) : [];
    const status = statusOf(ownMeta, settlements);
    if (input.json) {
      input.outJson({ record, adapters: ownMeta?.type === 'operation' ? ownMeta.adapters : [], status, settlements });
    } else {
      input.io.out(storyText(record, ownMeta, status, settlements));
    }
    return 0;
  } finally {
    await log.close();
  }
}

async function findRecord(log: LogStore, key: string, head: number): Promise<LogRecord> {
  if (/^\d+$/.test(key)) return recordAt(log, Number(key), key);
  for await (const batch of recordBatches(log, 1, head)) {
    const found = batch.find((record) => record.requestId === key);
    if (found !== undefined) return found;
  }
  throw new NotFoundError({ kind: 'request', id: key });
}

async function recordAt(log: LogStore, position: number, key: string): Promise<LogRecord> {
  const [record] = position >= 1 ? await log.read(position, 1) : [];
  if (record === undefined) throw new NotFoundError({ kind: 'record', id: key });
  return record;
}

/** Outcomes and compensations of the operation (and the outcome of its compensation), in log order. */
async function settlementsOf(log: LogStore, operation: LogRecord, head: number): Promise<Settlement[]> {
  const named = new Set([operation.txId]);
  const found: Settlement[] = [];
  for await (const batch of recordBatches(log, operation.position + 1, head)) {
    for (const record of batch) {
      const meta = readRuntimeMeta(record);
      if (meta === undefined || meta.type === 'operation' || !named.has(meta.of)) continue;
      named.add(record.txId);
      const common = { type: meta.type, position: record.position, txId: record.txId, afterMs: record.time - operation.time, of: meta.of };
      found.push(meta.type === 'outcome' ? { ...common, recovered: meta.recovered } : { ...common, error: meta.error });
    }
    // An operation is settled by one outcome, or by a compensation and the compensation's outcome.
    if (found.some((entry) => entry.type === 'outcome')) break;
  }
  return found;
}

function statusOf(meta: RuntimeMeta | undefined, settlements: readonly Settlement[]): Status {
  if (meta?.type !== 'operation') return 'not an operation';
  if (meta.adapters.length === 0) return 'finished at commit';
  const compensation = settlements.find((entry) => entry.type === 'compensation');
  if (compensation !== undefined) return settlements.some((entry) => entry.type === 'outcome' && entry.of === compensation.txId) ? 'compensated' : 'compensating';
  return settlements.some((entry) => entry.type === 'outcome') ? 'succeeded' : 'unsettled';
}

function storyText(record: LogRecord, meta: RuntimeMeta | undefined, status: Status, settlements: readonly Settlement[]): string {
  const rows: [string, string][] = [
    ['operation', record.operation ?? '(a transaction without an operation name)'],
    ['position', String(record.position)],
    ['txId', record.txId],
    ['requestId', record.requestId ?? '-'],
    ['committed', isoTime(record.time)],
    ['adapters', meta?.type === 'operation' ? meta.adapters.join(', ') || 'none' : '-'],
    ['changes', record.changes.map(changeText).join('; ') || 'none'],
    ['status', status],
  ];
  for (const entry of settlements) {
    const what = entry.type === 'outcome' ? (entry.of === record.txId ? 'outcome' : 'compensation applied') : 'compensation';
    const recovered = entry.recovered === true ? ', written by recovery' : '';
    rows.push([what, `position ${entry.position}, ${entry.afterMs} ms after commit${recovered}`]);
    if (entry.error !== undefined) rows.push(...errorRows(entry.error));
  }
  return keyValues(rows);
}

function errorRows(error: JsonObject): [string, string][] {
  const text = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));
  const entity = error.entity as { kind?: unknown; id?: unknown } | undefined;
  const rows: [string, string][] = [
    ['error', `${text(error.code)}: ${text(error.message)}`],
    ['step', text(error.step)],
  ];
  if (error.adapter !== undefined) rows.push(['adapter', text(error.adapter)]);
  if (entity !== undefined) rows.push(['entity', `${text(entity.kind)} ${text(entity.id)}`]);
  if (error.details !== undefined) rows.push(['details', JSON.stringify(error.details)]);
  if (error.cause !== undefined) rows.push(['cause', text(error.cause)]);
  return rows;
}
