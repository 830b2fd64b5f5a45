/**
 * Partial matching for specifications, in the manner of `toMatchObject`: an expected object
 * names only the fields that matter, an expected array must match element by element and be
 * as long, anything else must be the same value (`Object.is`). It is written here, not taken
 * from a test framework, so that `@ordo/core/testing` runs under any of them.
 */

/** Where `actual` first departs from `expected`, as `path: expected X, got Y`; undefined when it matches. */
export function mismatch(actual: unknown, expected: unknown, path: string): string | undefined {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: expected an array, got ${show(actual)}`;
    if (actual.length !== expected.length) return `${path}: expected ${expected.length} elements, got ${actual.length}: ${show(actual)}`;
    for (let index = 0; index < expected.length; index += 1) {
      const found = mismatch(actual[index], expected[index], `${path}[${index}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (isPlainObject(expected)) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return `${path}: expected an object, got ${show(actual)}`;
    for (const [key, value] of Object.entries(expected)) {
      const found = mismatch((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  return Object.is(actual, expected) ? undefined : `${path}: expected ${show(expected)}, got ${show(actual)}`;
}

/**
 * Pairs every expected pattern with its own actual item, in any order (a bipartite matching by
 * augmenting paths, so an ambiguous pattern never steals the only item another one fits).
 * Returns what is wrong, or undefined when every item has exactly one pattern.
 */
export function mismatchUnordered(actual: readonly unknown[], expected: readonly unknown[], path: string): string | undefined {
  if (actual.length !== expected.length) return `${path}: expected ${expected.length} items, got ${actual.length}: ${show(actual)}`;
  const fits = expected.map((pattern) => actual.map((item) => mismatch(item, pattern, path) === undefined));
  const ownerOf: (number | undefined)[] = actual.map(() => undefined);
  const assign = (pattern: number, seen: boolean[]): boolean => {
    for (let item = 0; item < actual.length; item += 1) {
      if (fits[pattern]?.[item] !== true || seen[item] === true) continue;
      seen[item] = true;
      const owner = ownerOf[item];
      if (owner === undefined || assign(owner, seen)) {
        ownerOf[item] = pattern;
        return true;
      }
    }
    return false;
  };
  for (let pattern = 0; pattern < expected.length; pattern += 1) {
    if (!assign(pattern, actual.map(() => false))) {
      return `${path}: nothing matches ${show(expected[pattern])} (each item matches one pattern); got ${show(actual)}`;
    }
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** A short JSON rendering for messages; values JSON cannot hold are named by type. */
function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    const text = JSON.stringify(value);
    return text.length > 400 ? `${text.slice(0, 400)}...` : text;
  } catch {
    return typeof value;
  }
}
