import type { z } from 'zod';
// Only the package's public entry, so that the helper tests what users get and survives changes inside.
import {
  createRuntime,
  isOrdoError,
  memoryLog,
  openStore,
  type EntityType,
  type InfrastructureAdapter,
  type InputOf,
  type LogRecord,
  type Operation,
  type OperationRuntime,
  type OperationValue,
  type OrdoError,
  type RunOptions,
  type StateDump,
  type Store,
} from '../index.js';
import { mismatch, mismatchUnordered } from './match-pattern.js';

/**
 * Given / when / then for operations, after Emmett's `DeciderSpecification`: given these
 * entities, when this operation runs with this input, then it commits these changes, or it
 * fails with this code and leaves everything as it was. Each scenario opens its own store on
 * a memory log, so scenarios share nothing. It drives Ordo only through its public API
 * (`openStore`, `memoryLog`, `createRuntime`, `runtime.run`), so it tests what users get.
 */

/** An entity that exists before the operation runs. Made with `givenEntity`. */
export interface GivenEntity {
  readonly type: EntityType;
  readonly id: string;
  readonly data: unknown;
}

/** An entity of `type` with this id and data, created (in one record with the others) before the operation runs. */
export function givenEntity<Type extends EntityType>(type: Type, id: string, data: InputOf<Type>): GivenEntity {
  return { type, id, data };
}

export interface OperationSpecificationOptions {
  /** The entity types of the store each scenario opens. */
  readonly entities: readonly EntityType[];
  /**
   * The adapters of each scenario's runtime, made afresh per scenario. They reconcile with
   * the given entities before the operation runs, as a runtime does when it starts.
   */
  readonly adapters?: () => readonly InfrastructureAdapter[];
  /**
   * What the infrastructure looks like (volume files, VMs on hosts), compared before and after
   * a failed operation: a failure must leave it as it was.
   */
  readonly observe?: () => unknown;
  /** The store's id source; default monotonic ULIDs. */
  readonly ids?: () => string;
  /** The store's clock; default Date.now. */
  readonly clock?: () => number;
}

/** A change the operation's record must hold, matched partially (`data` names only the fields that matter). */
export interface ExpectedChange {
  readonly op?: 'create' | 'update' | 'delete';
  readonly kind?: string;
  readonly id?: string;
  readonly version?: number;
  readonly data?: unknown;
}

export interface ExpectedCommit {
  /** Every change of the operation's record, in any order, each matched by one pattern; `[]` for a plan that changes nothing. */
  readonly changes?: readonly ExpectedChange[];
  /** What `plan` returned, matched partially. */
  readonly value?: unknown;
}

/** Fields of the `OrdoError` the operation must fail with, matched partially (`details`, `step`, `entity`, `adapter`, `message`...). */
export type ExpectedFailure = Readonly<Record<string, unknown>>;

export interface Scenario {
  readonly store: Store;
  readonly runtime: OperationRuntime;
}

export interface CommittedScenario<Value> extends Scenario {
  readonly value: Value;
  /** The operation's record; undefined when the plan changed nothing and nothing was written. */
  readonly record: LogRecord | undefined;
}

export interface FailedScenario extends Scenario {
  readonly error: OrdoError;
}

export interface When<Value> {
  /**
   * Runs the scenario and checks that the operation succeeded as expected. `check`, when
   * given, runs before the store closes, for what the specification cannot say (files, hosts).
   * Named `thenCommits`, not `then`, so that awaiting a `When` by mistake is not a promise.
   */
  thenCommits(expected: ExpectedCommit, check?: (scenario: CommittedScenario<Value>) => void | Promise<void>): Promise<CommittedScenario<Value>>;
  /**
   * Runs the scenario and checks that the operation rejected with an `OrdoError` of `code`
   * matching `expected`, that the entities and indexes are as they were, that nothing was
   * written unless the failure came after commit (step `apply`, then compensated), and that
   * what `observe` returns did not change.
   */
  thenFails(code: string, expected?: ExpectedFailure, check?: (scenario: FailedScenario) => void | Promise<void>): Promise<FailedScenario>;
}

export interface Given {
  when<Schema extends z.ZodType, Value extends OperationValue>(operation: Operation<Schema, Value>, input: z.input<Schema>, options?: RunOptions): When<Value>;
}

export interface OperationSpecification {
  given(entities?: readonly GivenEntity[]): Given;
}

/** A specification of operations over these entity types and adapters. */
export function operationSpecification(options: OperationSpecificationOptions): OperationSpecification {
  return {
    given: (entities = []) => ({
      when: (operation, input, runOptions = {}) => whenRun(options, entities, (runtime) => runtime.run(operation, input, runOptions)),
    }),
  };
}

function whenRun<Value>(options: OperationSpecificationOptions, entities: readonly GivenEntity[], run: RunIt<Value>): When<Value> {
  return {
    thenCommits: (expected, check) => withScenario(options, entities, (scenario) => expectCommit(scenario, run, expected, check)),
    thenFails: (code, expected = {}, check) => withScenario(options, entities, (scenario) => expectFailure(scenario, options, run, { code, expected }, check)),
  };
}

/** Thrown when a scenario's outcome is not what its specification says. */
export class SpecificationMismatchError extends Error {
  override readonly name = 'SpecificationMismatchError';
}

async function withScenario<Outcome>(options: OperationSpecificationOptions, entities: readonly GivenEntity[], body: (scenario: Scenario) => Promise<Outcome>): Promise<Outcome> {
  const store = await openStore({
    entities: options.entities,
    log: memoryLog(),
    ...(options.ids === undefined ? {} : { ids: options.ids }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  try {
    if (entities.length > 0) {
      await store.transact((tx) => {
        for (const entity of entities) tx.create(entity.type, entity.data as InputOf<EntityType>, { id: entity.id });
      });
    }
    const runtime = await createRuntime({ store, adapters: options.adapters?.() ?? [], background: false });
    try {
      return await body({ store, runtime });
    } finally {
      await runtime.close();
    }
  } finally {
    await store.close();
  }
}

type RunIt<Value> = (runtime: OperationRuntime) => Promise<{ readonly value: Value; readonly position: number }>;

async function expectCommit<Value>(
  scenario: Scenario,
  run: RunIt<Value>,
  expected: ExpectedCommit,
  check: ((scenario: CommittedScenario<Value>) => void | Promise<void>) | undefined,
): Promise<CommittedScenario<Value>> {
  const head = scenario.store.position;
  let result: { readonly value: Value; readonly position: number };
  try {
    result = await run(scenario.runtime);
  } catch (error) {
    throw new SpecificationMismatchError(`expected the operation to commit, but it failed: ${describeError(error)}`, { cause: error });
  }
  const record = result.position > head ? (await scenario.store.read({ from: result.position, limit: 1 }))[0] : undefined;
  // The runtime's own entities (`ordo.*`: its operation entity and holds) are not the operation's changes.
  const changes = (record?.changes ?? []).filter((change) => !change.kind.startsWith('ordo.'));
  if (expected.changes !== undefined) fail(mismatchUnordered(changes, expected.changes, 'changes'));
  if ('value' in expected) fail(mismatch(result.value, expected.value, 'value'));
  const committed = { ...scenario, value: result.value, record };
  await check?.(committed);
  return committed;
}

async function expectFailure(
  scenario: Scenario,
  options: OperationSpecificationOptions,
  run: RunIt<unknown>,
  failure: { readonly code: string; readonly expected: ExpectedFailure },
  check: ((scenario: FailedScenario) => void | Promise<void>) | undefined,
): Promise<FailedScenario> {
  const before = { dump: scenario.store.dump(), observed: await options.observe?.() };
  const error = await run(scenario.runtime).then(
    (result) => {
      throw new SpecificationMismatchError(`expected the operation to fail with ${failure.code}, but it committed at position ${result.position}`);
    },
    (rejection: unknown) => rejection,
  );
  if (!isOrdoError(error)) throw new SpecificationMismatchError(`expected an OrdoError ${failure.code}, got ${describeError(error)}`, { cause: error });
  if (error.code !== failure.code) throw new SpecificationMismatchError(`expected ${failure.code}, got ${describeError(error)}`, { cause: error });
  fail(mismatch(error, failure.expected, 'error'));
  const after = scenario.store.dump();
  // A failure after commit was compensated: the reverting record gives each entity its data back at a new version.
  const compensated = (error as { step?: unknown }).step === 'apply';
  fail(mismatch(entitiesOf(after, compensated), entitiesOf(before.dump, compensated), 'state after the failure'));
  if (!compensated) fail(mismatch(after.position, before.dump.position, 'log head (nothing may be written)'));
  if (options.observe !== undefined) fail(mismatch(await options.observe(), before.observed, 'observed infrastructure'));
  const failed = { ...scenario, error };
  await check?.(failed);
  return failed;
}

function entitiesOf(dump: StateDump, withoutVersions: boolean): { entities: readonly unknown[]; indexes: StateDump['indexes'] } {
  const entities = withoutVersions ? dump.entities.map(({ kind, id, data }) => ({ kind, id, data })) : dump.entities;
  return { entities, indexes: dump.indexes };
}

function fail(found: string | undefined): void {
  if (found !== undefined) throw new SpecificationMismatchError(found);
}

function describeError(error: unknown): string {
  if (isOrdoError(error)) return `${error.code}: ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
