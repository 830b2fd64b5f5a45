import { z } from 'zod';

/**
 * A short name for a schema at a version: `version:hash` of the schema's JSON Schema form.
 * Records carry it (`LogRecord.schemas`) when a writer's schema differs from the one that wrote
 * the kind's data before, so a reader knows which stored data its own schema already accepts
 * without validating it record by record. Refinements and transforms have no JSON Schema
 * form, so changing only them is not seen; every other change is, and only costs one
 * validation of the kind's data at the next open.
 */
export function schemaFingerprint(schema: z.ZodObject<z.ZodRawShape>, version: number): string {
  let described: string;
  try {
    described = JSON.stringify(z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }));
  } catch {
    // A schema that JSON Schema cannot express at all (cycles through lazy getters): its field
    // names still tell most changes apart.
    described = JSON.stringify(Object.keys(schema.shape).sort());
  }
  return `${version}:${fnv1a(described)}`;
}

/** FNV-1a, 32 bits, in hex: not a security measure, a change detector that costs nothing to compute once. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
