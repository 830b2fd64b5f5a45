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
    // Strings and booleans are JSON as they are: most items are.
    if (typeof item === 'string' || typeof item === 'boolean') continue;
    let normal: JsonValue;
    try {
      normal = frozenJson(item);
    } catch (error) {
      throw within(index, error);
    }
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
    if (typeof item === 'string' || typeof item === 'boolean') continue;
    if (item === undefined) {
      copy ??= { ...(object as Record<string, JsonValue>) };
      delete copy[key];
      continue;
    }
    let normal: JsonValue;
    try {
      normal = frozenJson(item);
    } catch (error) {
      throw within(key, error);
    }
    if (!Object.is(normal, item)) (copy ??= { ...(object as Record<string, JsonValue>) })[key] = normal;
  }
  const result = copy ?? (object as Record<string, JsonValue>);
  return Object.isFrozen(result) ? result : Object.freeze(result);
}

/** `error` with the key it came from in front of its path, when it is a NotJsonError. */
function within(key: string | number, error: unknown): unknown {
  if (error instanceof NotJsonError) error.path.unshift(key);
  return error;
}

/** Marks a value `plainJsonCopy` leaves to JSON itself. */
const notPlain = Symbol('not plain JSON');
/** Nesting `plainJsonCopy` copies itself; anything deeper (or a cycle) is left to JSON. */
const plainDepthMax = 64;

/**
 * A copy of `value` equal to `JSON.parse(JSON.stringify(value))`, made without the text in
 * between for plain JSON data (strings, finite numbers, booleans, null, arrays and plain
 * objects of them); anything else (undefined inside, NaN, `toJSON`, class instances, cycles,
 * bigints) takes the round trip itself, with its conversions and its errors. The copy shares
 * nothing with `value`: a caller that changes its value later does not change the copy.
 */
export function plainJsonCopy(value: unknown): unknown {
  const copy = plainCopy(value, 0);
  return copy === notPlain ? (JSON.parse(JSON.stringify(value)) as unknown) : copy;
}

function plainCopy(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? (value === 0 ? 0 : value) : notPlain;
    case 'object':
      if (value === null) return null;
      if (depth >= plainDepthMax) return notPlain;
      return Array.isArray(value) ? plainArrayCopy(value, depth + 1) : plainObjectCopy(value, depth + 1);
    default:
      return notPlain;
  }
}

function plainArrayCopy(array: readonly unknown[], depth: number): unknown {
  if (Object.getPrototypeOf(array) !== Array.prototype) return notPlain;
  const copy: unknown[] = new Array(array.length);
  for (let index = 0; index < array.length; index += 1) {
    const item = plainCopy(array[index], depth);
    if (item === notPlain) return notPlain;
    copy[index] = item;
  }
  return copy;
}

function plainObjectCopy(object: object, depth: number): unknown {
  const prototype: unknown = Object.getPrototypeOf(object);
  if ((prototype !== Object.prototype && prototype !== null) || typeof (object as { toJSON?: unknown }).toJSON === 'function') return notPlain;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(object)) {
    // JSON.parse makes `__proto__` an own key; an assignment would set the prototype instead.
    if (key === '__proto__') return notPlain;
    const item = plainCopy((object as Record<string, unknown>)[key], depth);
    if (item === notPlain) return notPlain;
    copy[key] = item;
  }
  return copy;
}
