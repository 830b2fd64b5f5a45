import { z } from 'zod';
import {
  InvalidArgumentError,
  MigrationFailedError,
  SchemaMismatchError,
  SchemaVersionUnsupportedError,
  ValidationError,
  type StoredDataRef,
  type ValidationIssue,
} from './errors.js';
import { deepFreeze } from './freeze.js';
import { frozenJson, NotJsonError } from './json-data.js';
import type { JsonObject } from './record.js';
import { schemaFingerprint } from './schema-fingerprint.js';
import { checkSchemaSteps, type Migration, type SchemaSteps } from './schema-steps.js';

/** Keys of the entity envelope. Data may not try to set them: they are managed by Ordo. */
const envelopeKeys = ['id', 'kind', 'version'] as const;
const kindPattern = /^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$/;

export type AnyObjectSchema = z.ZodObject<z.ZodRawShape>;

export interface EntityTypeOptions<Field extends string> {
  /** Fields whose value no two entities of this kind may share (values undefined and null are not counted). */
  readonly unique?: readonly Field[];
  /** Fields that `find` may query by equality. Unique fields are queryable too. */
  readonly index?: readonly Field[];
  /** The schema version of this code: an integer from 1 (the default). Bump it with every change of the schema. */
  readonly version?: number;
  /** `N -> step` from the data at version N to the data at N+1, for every N from `oldestVersion` to `version - 1`. */
  readonly migrations?: Readonly<Record<number, Migration>>;
  /** The oldest version this code migrates from (default 1). Raise it to delete old steps once no data of theirs is left. */
  readonly oldestVersion?: number;
  /**
   * The version this code writes (default `version`). A rolling upgrade on a shared log first
   * ships the new version with `writeVersion` at the old one, so that processes not yet
   * upgraded can still read everything, and then drops it. Needs `downgrades`.
   */
  readonly writeVersion?: number;
  /** `N -> step` from the data at version N to the data at N-1, for every N from `writeVersion + 1` to `version`. */
  readonly downgrades?: Readonly<Record<number, Migration>>;
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
  /** The schema version of `schema`. */
  readonly version: number;
  /** The oldest stored version this type reads (through its migrations). */
  readonly oldestVersion: number;
  /** The version writes store their data at. */
  readonly writeVersion: number;
  /** `version:hash` of the schema, recorded in the log so that readers know which data their schema accepts. */
  readonly fingerprint: string;
  /**
   * Stored data at `schemaVersion` as the current version's data: migrated, checked against
   * the schema, frozen. Throws SchemaVersionUnsupportedError, MigrationFailedError or
   * SchemaMismatchError naming `where`.
   */
  readStored(data: JsonObject, schemaVersion: unknown, where: StoredDataRef): JsonObject;
  /**
   * For a type that writes an older version than its own: the form a write stores (`stored`, at
   * `writeVersion`) and what folding that gives back (`data`, at `version`). Throws
   * MigrationFailedError (position 0) when a step fails.
   */
  toStored(data: JsonObject, id: string): { readonly stored: JsonObject; readonly data: JsonObject };
  /** The stored form `toStored` gave for the `data` it returned. */
  storedFormOf(data: JsonObject): JsonObject | undefined;
}

export type DataOf<Type> = Type extends EntityType<string, infer Schema> ? z.output<Schema> : never;
export type InputOf<Type> = Type extends EntityType<string, infer Schema> ? z.input<Schema> : never;
export type { Migration } from './schema-steps.js';
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
  const steps = checkSchemaSteps(kind, options);
  const reader = storedDataReader(kind, strict, steps);
  return Object.freeze({
    kind,
    schema,
    unique: Object.freeze(unique),
    index: Object.freeze(index),
    version: steps.version,
    oldestVersion: steps.oldestVersion,
    writeVersion: steps.writeVersion,
    fingerprint: schemaFingerprint(strict, steps.version),
    ...reader,
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

/** The read and write sides of the migration chain, closed over the checked steps. */
function storedDataReader(kind: string, strict: AnyObjectSchema, steps: SchemaSteps) {
  const { version, oldestVersion, writeVersion } = steps;
  // What each rolled-back write stored, by the data it gave back: looked up when the record is built.
  const storedForms = new WeakMap<JsonObject, JsonObject>();

  function readStored(data: JsonObject, schemaVersion: unknown, where: StoredDataRef): JsonObject {
    const found = schemaVersion as number;
    if (!Number.isSafeInteger(found) || found < oldestVersion || found > version) {
      throw new SchemaVersionUnsupportedError({ kind, found, supported: version, oldest: oldestVersion, id: where.id, position: where.position });
    }
    let current = data;
    for (let from = found; from < version; from += 1) current = runStep(steps.upgrades.get(from), current, { ...where, from, to: from + 1 });
    const result = strict.safeParse(current);
    let issues: ValidationIssue[] | undefined;
    if (result.success) {
      try {
        return frozenJson(result.data) as JsonObject;
      } catch (error) {
        if (!(error instanceof NotJsonError)) throw error;
        issues = [{ path: error.path, code: 'not_json', message: error.message }];
      }
    } else {
      issues = result.error.issues.map(toIssue);
    }
    if (found === version) throw new SchemaMismatchError({ ...where, issues });
    throw new MigrationFailedError({ ...where, from: found, to: version, issues });
  }

  function toStored(data: JsonObject, id: string): { stored: JsonObject; data: JsonObject } {
    let stored = data;
    for (let from = version; from > writeVersion; from -= 1) stored = runStep(steps.downgrades.get(from), stored, { kind, id, position: 0, from, to: from - 1 });
    const back = readStored(stored, writeVersion, { kind, id, position: 0 });
    storedForms.set(back, stored);
    return { stored, data: back };
  }

  return { readStored, toStored, storedFormOf: (data: JsonObject) => storedForms.get(data) };
}

/** Runs one step on frozen input (a step that changes its input throws instead of making replays differ). */
function runStep(step: Migration | undefined, data: JsonObject, where: StoredDataRef & { from: number; to: number }): JsonObject {
  let output: unknown;
  try {
    if (step === undefined) throw new Error(`no step from version ${where.from}`);
    output = step(deepFreeze(data));
  } catch (cause) {
    throw new MigrationFailedError({ ...where, cause });
  }
  if (typeof output !== 'object' || output === null || Array.isArray(output)) {
    throw new MigrationFailedError({ ...where, cause: new Error(`the step returned ${Array.isArray(output) ? 'an array' : String(output)}, not an object`) });
  }
  return output as JsonObject;
}

function toIssue(issue: z.core.$ZodIssue): ValidationIssue {
  return { path: issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part)), message: issue.message, code: issue.code };
}
