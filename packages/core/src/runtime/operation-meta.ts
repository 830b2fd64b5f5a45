import type { Entity, JsonObject, JsonValue, LogRecord } from '../record.js';
import type { EntityChange } from '../state.js';

/**
 * What the runtime writes into a record's `meta.ordo`, and reads back in recovery. Three
 * record types tell the story of an operation in the log:
 *
 * - `operation`: the planned changes, committed. `adapters` names the adapters that must
 *   apply them (none: the operation is finished at commit). `before` holds the before-images
 *   of updated and deleted entities, so that a revert can be made from the log alone.
 * - `compensation`: the record that reverts a failed operation (`of` is its txId). It needs
 *   applying too, by `adapters` (in that order: the reverse of the operation's), and keeps its
 *   own `before` images so that a recovery can apply it again.
 * - `outcome`: `of` (an operation or a compensation) has been applied by every adapter.
 *
 * An operation is settled when an outcome or a compensation names it; both carry the
 * requestId `outcomeRequestId(txId)`, so the log can hold only one of them.
 */
export type RuntimeMeta =
  | { readonly type: 'operation'; readonly adapters: readonly string[]; readonly before: readonly EntityImage[] }
  | {
      readonly type: 'compensation';
      readonly of: string;
      readonly ofPosition: number;
      readonly adapters: readonly string[];
      readonly before: readonly EntityImage[];
      readonly error: JsonObject;
    }
  | { readonly type: 'outcome'; readonly of: string; readonly ofPosition: number; readonly recovered: boolean };

/** `[kind, id, version, data]`, as in snapshots. */
export type EntityImage = readonly [string, string, number, JsonObject];

const metaKey = 'ordo';

export function outcomeRequestId(txId: string): string {
  return `ordo.outcome:${txId}`;
}

export function toMeta(meta: RuntimeMeta): JsonObject {
  const body: JsonObject =
    meta.type === 'operation'
      ? { type: meta.type, adapters: [...meta.adapters], before: meta.before.map((image) => [...image]) }
      : meta.type === 'compensation'
        ? { type: meta.type, of: meta.of, ofPosition: meta.ofPosition, adapters: [...meta.adapters], before: meta.before.map((image) => [...image]), error: meta.error }
        : { type: meta.type, of: meta.of, ofPosition: meta.ofPosition, recovered: meta.recovered };
  return { [metaKey]: body };
}

/** The runtime's meta of a record, or undefined for records the runtime did not write. */
export function readMeta(record: LogRecord): RuntimeMeta | undefined {
  const body = record.meta?.[metaKey];
  if (!isObject(body)) return undefined;
  const strings = (value: JsonValue | undefined): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
  const before = Array.isArray(body.before) ? body.before.filter(isImage) : [];
  if (body.type === 'operation') {
    return { type: 'operation', adapters: strings(body.adapters), before };
  }
  if (typeof body.of !== 'string' || typeof body.ofPosition !== 'number') return undefined;
  if (body.type === 'compensation') {
    const error = isObject(body.error) ? body.error : {};
    return { type: 'compensation', of: body.of, ofPosition: body.ofPosition, adapters: strings(body.adapters), before, error };
  }
  if (body.type === 'outcome') return { type: 'outcome', of: body.of, ofPosition: body.ofPosition, recovered: body.recovered === true };
  return undefined;
}

/** Before-images of the updated and deleted entities; creates need none to be reverted. */
export function beforeImages(changes: readonly EntityChange[]): EntityImage[] {
  const images: EntityImage[] = [];
  for (const change of changes) {
    if (change.before !== undefined) images.push([change.kind, change.id, change.before.version, change.before.data]);
  }
  return images;
}

/** The changes of a committed record with both images, rebuilt from the record and its meta. */
export function recordChanges(record: LogRecord, before: readonly EntityImage[]): EntityChange[] {
  const images = new Map(before.map(([kind, id, version, data]) => [`${kind}\u0000${id}`, { kind, id, version, data } satisfies Entity]));
  return record.changes.map((change): EntityChange => {
    const { kind, id } = change;
    const previous = images.get(`${kind}\u0000${id}`);
    if (change.op === 'create') return { kind, id, op: 'create', after: { kind, id, version: change.version, data: change.data } };
    if (change.op === 'update') {
      const after: Entity = { kind, id, version: change.version, data: change.data };
      return previous === undefined ? { kind, id, op: 'update', after } : { kind, id, op: 'update', before: previous, after };
    }
    return previous === undefined ? { kind, id, op: 'delete' } : { kind, id, op: 'delete', before: previous };
  });
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isImage(value: JsonValue): value is EntityImage {
  return Array.isArray(value) && value.length === 4 && typeof value[0] === 'string' && typeof value[1] === 'string' && typeof value[2] === 'number' && isObject(value[3] as JsonValue);
}
