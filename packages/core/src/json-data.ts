import type { JsonValue } from './record.js';

/** Why a value is not JSON data, and where (path from the value's root). */
export class NotJsonError extends Error {
  readonly path: (string | number)[] = [];
}

/**
 * Returns `value` as the JSON data the log will hold, deeply frozen: -0 becomes 0 and object
 * keys whose value is undefined are dropped (JSON would lose both, so a state folded from a
 * file or PostgreSQL log would differ from the state maintained in memory, breaking I3).
 * Anything JSON cannot hold the same (NaN, Infinity, undefined or holes in arrays, Dates,
 * Maps, class instances, functions, bigints) throws NotJsonError with its path. Objects are
 * copied only where something changes.
 */
export function frozenJson(value: unknown): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new NotJsonError(`${value} is not a JSON number`);
      return value === 0 ? 0 : value;
    case 'object':
      if (value === null) return null;
      return Array.isArray(value) ? frozenArray(value) : frozenObject(value);
    default:
      throw new NotJsonError(`${typeof value} is not JSON data`);
  }
}

function frozenArray(array: readonly unknown[]): JsonValue {
  let copy: JsonValue[] | undefined;
  for (let index = 0; index < array.length; index += 1) {
    const item = array[index];
    const normal = within(index, () => frozenJson(item));
    if (!Object.is(normal, item)) (copy ??= array.slice() as JsonValue[])[index] = normal;
  }
  const result = copy ?? (array as JsonValue[]);
  return Object.isFrozen(result) ? result : Object.freeze(result);
}

function frozenObject(object: object): JsonValue {
  const prototype: unknown = Object.getPrototypeOf(object);
  if (prototype !== Object.prototype && prototype !== null) {
    const name = (object as { constructor?: { name?: string } }).constructor?.name ?? 'object';
    throw new NotJsonError(`a ${name} is not JSON data`);
  }
  let copy: Record<string, JsonValue> | undefined;
  for (const key of Object.keys(object)) {
    const item = (object as Record<string, unknown>)[key];
    if (item === undefined) {
      copy ??= { ...(object as Record<string, JsonValue>) };
      delete copy[key];
      continue;
    }
    const normal = within(key, () => frozenJson(item));
    if (!Object.is(normal, item)) (copy ??= { ...(object as Record<string, JsonValue>) })[key] = normal;
  }
  const result = copy ?? (object as Record<string, JsonValue>);
  return Object.isFrozen(result) ? result : Object.freeze(result);
}

function within(key: string | number, normalize: () => JsonValue): JsonValue {
  try {
    return normalize();
  } catch (error) {
    if (error instanceof NotJsonError) error.path.unshift(key);
    throw error;
  }
}
