/**
 * Freezes a JSON value and everything inside it. Entities and records are immutable values:
 * a caller that keeps one can never change what the store or the log holds.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  // Leaves are skipped here rather than in a call of their own: most values in entity data are.
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) if (typeof item === 'object' && item !== null) deepFreeze(item);
  } else {
    for (const key in value) {
      const item = (value as Record<string, unknown>)[key];
      if (typeof item === 'object' && item !== null) deepFreeze(item);
    }
  }
  return Object.freeze(value);
}
