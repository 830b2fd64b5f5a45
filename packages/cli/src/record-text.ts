import type { Change, LogRecord } from '@ordo/core';
import { isoTime } from './text-table.js';

/** Changes listed per record line before "+N more". */
const changesShownMax = 4;

export function changeText(change: Change): string {
  return `${change.op} ${change.kind} ${change.id} v${change.version}`;
}

/** One line per record, for people: position, time, txId, operation, requestId, changes. */
export function recordLine(record: LogRecord): string {
  const shown = record.changes.slice(0, changesShownMax).map(changeText);
  const more = record.changes.length - shown.length;
  if (more > 0) shown.push(`+${more} more`);
  const changes = shown.length === 0 ? '(no changes)' : shown.join(', ');
  return `${String(record.position).padStart(8)}  ${isoTime(record.time)}  ${record.txId}  ${record.operation ?? '-'}  ${record.requestId ?? '-'}  ${changes}`;
}

export const recordHeader = `${'position'.padStart(8)}  ${'time'.padEnd(24)}  txId  operation  requestId  changes`;
