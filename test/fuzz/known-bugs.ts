import type { Outcome } from './outcome.js';

/**
 * Untyped errors the fuzz suites found that are not fixed yet. Each one also has its own
 * deterministic failing test in known-bugs.test.ts; the properties skip them only so that
 * they keep looking for other bugs. Remove an entry once its test passes.
 */
export function knownBug(outcome: Outcome): string | undefined {
  if (outcome.kind !== 'thrown' || !(outcome.error instanceof Error)) return undefined;
  const message = outcome.error.message;
  // A recipe immer refuses (returns a value and modifies its draft, sets __proto__...).
  if (message.startsWith('[Immer]')) return 'immer-error-untyped';
  if (outcome.error instanceof TypeError && message.includes('Cannot convert object to primitive value')) return 'string-of-null-prototype';
  return undefined;
}

