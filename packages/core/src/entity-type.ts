import { z } from 'zod';
import { InvalidArgumentError, ValidationError, type ValidationIssue } from './errors.js';
import { frozenJson, NotJsonError } from './json-data.js';
import type { JsonObject } from './record.js';

/** Keys of the entity envelope. Data may not try to set them: they are managed by Ordo. */
const envelopeKeys = ['id', 'kind', 'version'] as const;
const kindPattern = /^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$/;

export type AnyObjectSchema = z.ZodObject<z.ZodRawShape>;

export interface EntityTypeOptions<Field extends string> {
  /** Fields whose value no two entities of this kind may share (values undefined and null are not counted). */
  readonly unique?: readonly Field[];
  /** Fields that `find` may query by equality. Unique fields are queryable too. */
  readonly index?: readonly Field[];
}

/**
 * A kind plus its schema and constraints. Unknown fields are rejected: Ordo makes the schema
 * strict, because a typo such as `memoryMb` silently dropped is worse than an error. Data is
 * what the log stores, so it must be JSON: parse normalizes -0 to 0 and drops keys whose value
 * is undefined, and rejects what JSON cannot hold (dates, maps, NaN) with the field's path.
 */
export interface EntityType<Kind extends string = string, Schema extends AnyObjectSchema = AnyObjectSchema> {
  readonly kind: Kind;
  readonly schema: Schema;
  readonly unique: readonly string[];
  readonly index: readonly string[];
  /** Validates data; throws ValidationError naming the kind, the id and the field paths. */
  parse(data: unknown, id?: string): z.output<Schema> & JsonObject;
  /** Throws ValidationError when an update's data tries to set `id`, `kind` or `version`. */
  checkEnvelope(data: object, id: string): void;
}

export type DataOf<Type> = Type extends EntityType<string, infer Schema> ? z.output<Schema> : never;
export type InputOf<Type> = Type extends EntityType<string, infer Schema> ? z.input<Schema> : never;
export type KindOf<Type> = Type extends EntityType<infer Kind, AnyObjectSchema> ? Kind : never;

export function defineEntity<Kind extends string, Schema extends AnyObjectSchema>(
  kind: Kind,
  schema: Schema,
  options: EntityTypeOptions<Extract<keyof z.output<Schema>, string>> = {},
): EntityType<Kind, Schema> {
  if (!kindPattern.test(kind)) {
    throw new InvalidArgumentError('kind', `'${kind}' must start with a letter and hold only letters, digits, '_', '.', '-'`);
  }
  if (!(schema instanceof z.ZodObject)) throw new InvalidArgumentError('schema', `${kind}: must be a zod object schema`);
  const unique = [...(options.unique ?? [])];
  const index = (options.index ?? []).filter((field) => !unique.includes(field));
  for (const field of [...unique, ...index]) {
    if (!(field in schema.shape)) throw new InvalidArgumentError('index', `${kind}.${field} is not a field of the schema`);
  }
  const strict = schema.strict();
  // Envelope keys the schema does not declare as fields of its own (computed once: reading
  // a zod shape is not free, and updates check this every time).
  const managed = envelopeKeys.filter((key) => !(key in schema.shape));
  return Object.freeze({
    kind,
    schema,
    unique: Object.freeze(unique),
    index: Object.freeze(index),
    parse(data: unknown, id?: string) {
      const result = strict.safeParse(data);
      if (!result.success) throw new ValidationError({ kind, id, issues: result.error.issues.map(toIssue) });
      try {
        return frozenJson(result.data) as z.output<Schema> & JsonObject;
      } catch (error) {
        if (!(error instanceof NotJsonError)) throw error;
        throw new ValidationError({ kind, id, issues: [{ path: error.path, code: 'not_json', message: error.message }] });
      }
    },
    checkEnvelope(data: object, id: string) {
      for (const key of managed) {
        if (Object.hasOwn(data, key)) {
          throw new ValidationError({
            kind,
            id,
            issues: [{ path: [key], code: 'immutable_field', message: `${key} is managed by Ordo and cannot be changed` }],
          });
        }
      }
    },
  });
}

function toIssue(issue: z.core.$ZodIssue): ValidationIssue {
  return { path: issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part)), message: issue.message, code: issue.code };
}
