import { InvalidArgumentError } from './errors.js';
import type { JsonObject } from './record.js';

/**
 * One step between two adjacent schema versions of an entity type: a pure function from the
 * data at one version to the data at the next (or, for a downgrade, the previous). It gets
 * frozen JSON and returns new JSON; it may not read a clock, draw random numbers or look at
 * other entities, because replay, catch-up and snapshots all run it and must agree (I3).
 */
export type Migration = (data: JsonObject) => JsonObject;

/** The most schema versions a type may have: a chain longer than this is a design smell and costs every old record. */
export const schemaVersionMax = 1000;

/** The checked version options of an entity type. `upgrades[N]` leads from N to N+1, `downgrades[N]` from N to N-1. */
export interface SchemaSteps {
  readonly version: number;
  readonly oldestVersion: number;
  readonly writeVersion: number;
  readonly upgrades: ReadonlyMap<number, Migration>;
  readonly downgrades: ReadonlyMap<number, Migration>;
}

export interface SchemaStepOptions {
  readonly version?: number | undefined;
  readonly oldestVersion?: number | undefined;
  readonly writeVersion?: number | undefined;
  readonly migrations?: Readonly<Record<number, Migration>> | undefined;
  readonly downgrades?: Readonly<Record<number, Migration>> | undefined;
}

export function checkSchemaSteps(kind: string, options: SchemaStepOptions): SchemaSteps {
  const version = checkVersion(kind, 'version', options.version ?? 1, 1, schemaVersionMax);
  const oldestVersion = checkVersion(kind, 'oldestVersion', options.oldestVersion ?? 1, 1, version);
  const writeVersion = checkVersion(kind, 'writeVersion', options.writeVersion ?? version, oldestVersion, version);
  const upgrades = checkSteps(kind, 'migrations', options.migrations, oldestVersion, version - 1);
  const downgrades = checkSteps(kind, 'downgrades', options.downgrades, writeVersion + 1, version);
  return { version, oldestVersion, writeVersion, upgrades, downgrades };
}

function checkVersion(kind: string, name: string, value: unknown, low: number, high: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < low || value > high) {
    throw new InvalidArgumentError(name, `${kind}: must be an integer from ${low} to ${high}, got ${String(value)}`);
  }
  return value;
}

/** Every step from `first` to `last` must be a function, and there may be no step outside that range. */
function checkSteps(kind: string, name: string, given: unknown, first: number, last: number): Map<number, Migration> {
  if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given))) {
    throw new InvalidArgumentError(name, `${kind}: must be an object of version -> function`);
  }
  const steps = new Map<number, Migration>();
  const record = (given ?? {}) as Record<string, unknown>;
  for (let version = first; version <= last; version += 1) {
    const step = record[String(version)];
    if (typeof step !== 'function') {
      const what = step === undefined ? 'is missing' : `is a ${typeof step}, not a function`;
      throw new InvalidArgumentError(name, `${kind}: the step from version ${version} ${what}`);
    }
    steps.set(version, step as Migration);
  }
  for (const key of Object.keys(record)) {
    if (!steps.has(Number(key))) throw new InvalidArgumentError(name, `${kind}: step '${key}' is outside ${first}..${last}`);
  }
  return steps;
}
