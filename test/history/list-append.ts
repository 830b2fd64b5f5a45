import type { HistoryOp } from './history.js';

/**
 * Elle's list-append workload: each key names a list; a transaction appends unique values to
 * lists and reads whole lists. Appended values are unique per key, so every read reveals the
 * order in which the appends to that key were committed.
 */
export type MicroOp =
  | { readonly f: 'append'; readonly key: string; readonly value: number }
  | { readonly f: 'read'; readonly key: string; readonly value?: readonly number[] | undefined };

/** The input lists reads without values; the output fills each read with the list it saw. */
export type ListAppendOp = HistoryOp<readonly MicroOp[], readonly MicroOp[]>;

export function formatMicroOps(ops: readonly MicroOp[]): string {
  return ops
    .map((op) => (op.f === 'append' ? `append ${op.key} ${op.value}` : `read ${op.key} ${op.value === undefined ? '?' : `[${op.value.join(' ')}]`}`))
    .join(', ');
}

export function formatOp(op: ListAppendOp): string {
  const body = op.type === 'ok' && op.output !== undefined ? op.output : op.input;
  const end = op.completeTime === Infinity ? '?' : op.completeTime.toFixed(3);
  return `T${op.index} (process ${op.process}, ${op.type}, ${op.invokeTime.toFixed(3)}..${end}) [${formatMicroOps(body)}]`;
}
