import { isOrdoError, type LogRecord, type Store } from '@ordo/core';
import fc from 'fast-check';
import { expect } from 'vitest';

/** How a fuzzed call ended: success, a typed Ordo error (with its code), or the caller's own error. */
export type Outcome = { readonly kind: 'ok'; readonly value: unknown } | { readonly kind: 'ordo'; readonly code: string } | { readonly kind: 'thrown'; readonly error: unknown };

/**
 * fast-check parameters: a fixed seed by default, so that `pnpm test` is repeatable; the soak
 * (scripts/soak.ts) and ORDO_FUZZ_SEED=<n> explore other seeds. A failure prints its seed.
 */
export function fuzzParameters(numRuns: number): { numRuns: number; seed: number } {
  const seed = Number(process.env.ORDO_FUZZ_SEED ?? 20_261_125);
  const scale = Number(process.env.ORDO_FUZZ_SCALE ?? 1);
  return { numRuns: Math.max(1, Math.round(numRuns * scale)), seed };
}

/** Longest a single fuzzed call may take: anything slower is a hang. */
const callLimitMs = 5_000;

/** Runs `call`, classifying how it ended; a call that does not settle in time fails the test. */
export async function outcomeOf(call: () => unknown): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<Outcome>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`call did not settle within ${callLimitMs} ms`)), callLimitMs);
  });
  const run = (async (): Promise<Outcome> => {
    try {
      return { kind: 'ok', value: await call() };
    } catch (error) {
      return isOrdoError(error) ? { kind: 'ordo', code: error.code } : { kind: 'thrown', error };
    }
  })();
  try {
    return await Promise.race([run, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Codes an OrdoError may carry: a stable, upper-case name. */
export function expectStableCode(outcome: Outcome): void {
  if (outcome.kind === 'ordo') expect(outcome.code).toMatch(/^[A-Z][A-Z_]+$/);
}

/** Every record of the store's log. */
export async function logOf(store: Store): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  for (;;) {
    const page = await store.read({ from: records.length + 1, limit: 1000 });
    if (page.length === 0) return records;
    records.push(...page);
  }
}

/**
 * The log after a call must be the log before it (nothing changed, nothing lost), plus at
 * most `added` new records; and every record must survive a JSON round trip unchanged, or a
 * file or PostgreSQL store would persist something other than what was acknowledged.
 */
export function expectLogGrewBy(before: readonly LogRecord[], after: readonly LogRecord[], added: number): void {
  expect(after.slice(0, before.length)).toEqual(before);
  expect(after.length - before.length).toBe(added);
  for (const record of after.slice(before.length)) expect(isJsonStable(record), describeValue(record)).toBe(true);
}

/** True when `value` survives a JSON round trip unchanged: no Map, no hole, no NaN, no undefined. */
export function isJsonStable(value: unknown): boolean {
  let copy: unknown;
  try {
    copy = JSON.parse(JSON.stringify(value)) as unknown;
  } catch {
    return false;
  }
  return sameJson(value, copy);
}

function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b);
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  // A null-prototype object holds the same JSON as a plain one; a Map, a Date or a boxed value does not.
  const prototype: unknown = Object.getPrototypeOf(a);
  if (!Array.isArray(a) && prototype !== null && prototype !== Object.prototype) return false;
  if (Array.isArray(a)) {
    const list = b as unknown[];
    return a.length === list.length && Array.from({ length: a.length }, (_, index) => index).every((index) => index in a && sameJson(a[index], list[index]));
  }
  const record = a as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && sameJson(record[key], (b as Record<string, unknown>)[key]));
}

/** A printable form of any value, even one String() cannot convert (a null-prototype object). */
export function describeValue(value: unknown): string {
  try {
    return fc.stringify(value);
  } catch {
    // An object whose prototype is a Set or a Map fools even fast-check's printer.
    return Object.prototype.toString.call(value);
  }
}
