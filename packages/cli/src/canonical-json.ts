import type { JsonValue } from '@ordo/core';

/** JSON with object keys sorted, so that two equal values give the same text whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value as JsonValue));
}

function sortKeys(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map((item: JsonValue) => sortKeys(item));
  if (typeof value !== 'object' || value === null) return value;
  const sorted: Record<string, JsonValue> = {};
  const object = value as { readonly [key: string]: JsonValue };
  for (const key of Object.keys(object).sort()) {
    const item = object[key];
    if (item !== undefined) sorted[key] = sortKeys(item);
  }
  return sorted;
}
