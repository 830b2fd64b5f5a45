import type { z } from 'zod';
import { InvalidArgumentError, StoreClosedError, ValidationError, isOrdoError } from '../errors.js';
import type { JsonObject } from '../record.js';
import type { ReplayedResult, Store, TransactResult } from '../store.js';
import type { InfrastructureAdapter, StateView } from './adapter.js';
import { adapterBatches, prepareBatches } from './adapter-calls.js';
import type { Operation, OperationValue } from './define-operation.js';
import { OperationError, describeCause, operationErrorFromJson } from './operation-error.js';
import { beforeImages, outcomeRequestId, readMeta, toMeta } from './operation-meta.js';
import { recover, type RecoveredOperation } from './recovery.js';
import { SerialQueue } from './serial-queue.js';
import { applyAndRecord, finishOperation, type CommittedOperation, type RuntimeContext, type SettleReport } from './settle.js';
import { storeView } from './store-view.js';
import { tracedAdapter } from './traced-adapter.js';
import { traced, type Telemetry } from '../telemetry.js';

/** The most `run` calls that may wait for their turn; more are refused with RUNTIME_BUSY. */
export const pendingRunsMax = 10_000;

export interface CreateRuntimeOptions {
  readonly store: Store;
  /** Applied in this order; compensations undo in the reverse order. Names must be unique. */
  readonly adapters?: readonly InfrastructureAdapter[];
  /** Ask every adapter to `reconcile` with the whole state after recovery. Default true. */
  readonly reconcile?: boolean;
  /** Told of each operation and its steps (validate, commit, plan, prepare, settle, apply, compensate). Default: none. */
  readonly telemetry?: Telemetry;
}

export interface RunOptions {
  /** Idempotency key: running the same requestId again returns the first outcome, also after a restart (I7). */
  readonly requestId?: string;
}

export interface RunResult<Value> {
  /** What `plan` returned. */
  readonly value: Value;
  /** The position of the operation's record (for a plan that changed nothing, the position it read at). */
  readonly position: number;
  /** True when the requestId was already in the log and nothing ran. */
  readonly replayed: boolean;
}

/**
 * Runs operations: validate, plan (in a transaction), prepare (adapters may veto), commit,
 * apply (adapters in order), and compensation when apply fails. Operations run one at a
 * time, so adapters see changes in commit order.
 */
export interface OperationRuntime {
  readonly store: Store;
  readonly adapters: readonly InfrastructureAdapter[];
  /** What recovery settled when this runtime started. */
  readonly recovered: readonly RecoveredOperation[];
  /**
   * Resolves when the changes are committed and every adapter concerned has applied them.
   * Rejects with `ValidationError` (input, kind = the operation's name; nothing written),
   * `OperationError` (step 'plan' or 'prepare': nothing written; step 'apply': committed,
   * then compensated), or the store's own error from the transaction, unchanged
   * (`NotFoundError` from `tx.require`, `ConflictError`, `UniqueViolationError`...).
   */
  run<Schema extends z.ZodType, Value extends OperationValue>(
    operation: Operation<Schema, Value>,
    input: z.input<Schema>,
    options?: RunOptions,
  ): Promise<RunResult<Value>>;
  /** The store's state by kind name, as adapters see it. */
  view(): StateView;
  /** Waits for queued operations, then refuses new ones. Does not close the store. */
  close(): Promise<void>;
}

/**
 * Creates a runtime over `store`. Before it resolves, operations that were committed but not
 * settled (the process died between commit and outcome) are finished or reverted, and the
 * adapters reconcile with the state: nothing new runs over a half-done operation.
 */
export async function createRuntime(options: CreateRuntimeOptions): Promise<OperationRuntime> {
  const checked = checkAdapters(options.adapters ?? []);
  if (typeof options.store?.transact !== 'function') throw new InvalidArgumentError('store', 'must be a store from openStore');
  const { telemetry } = options;
  const adapters = telemetry === undefined ? checked : Object.freeze(checked.map((adapter) => tracedAdapter(adapter, telemetry)));
  const context: RuntimeContext = { store: options.store, adapters, telemetry };
  const recovered = await recover(context);
  if (options.reconcile !== false) {
    for (const adapter of adapters) await adapter.reconcile?.({ view: storeView(options.store) });
  }
  return new Runtime(context, recovered);
}

function checkAdapters(adapters: readonly InfrastructureAdapter[]): readonly InfrastructureAdapter[] {
  if (!(adapters instanceof Array)) throw new InvalidArgumentError('adapters', 'must be an array');
  const names = new Set<string>();
  for (const adapter of adapters) {
    if (typeof adapter?.name !== 'string' || adapter.name.length === 0) throw new InvalidArgumentError('adapters', 'every adapter needs a name');
    if (names.has(adapter.name)) throw new InvalidArgumentError('adapters', `two adapters are named '${adapter.name}'`);
    if (!Array.isArray(adapter.kinds) || typeof adapter.apply !== 'function') {
      throw new InvalidArgumentError('adapters', `${adapter.name}: needs kinds (an array) and apply (a function)`);
    }
    names.add(adapter.name);
  }
  return Object.freeze([...adapters]);
}

/** Thrown inside a probe transaction when no outcome exists, so that the probe writes nothing. */
class OutcomeMissing extends Error {}

class Runtime implements OperationRuntime {
  private readonly queue = new SerialQueue(pendingRunsMax);
  private closed = false;
  /**
   * A compensation whose revert an adapter failed to apply. It is applied again before the
   * next operation: recovery relies on only the newest operation being unsettled.
   */
  private unsettled: CommittedOperation | undefined;
  /**
   * Set when an operation was committed but settling it threw (the log store failed while
   * writing its outcome or compensation): only a restart, with its recovery, can tell what
   * happened, so every later run rejects with this.
   */
  private broken: OperationError | undefined;

  constructor(
    private readonly context: RuntimeContext,
    readonly recovered: readonly RecoveredOperation[],
  ) {}

  get store(): Store {
    return this.context.store;
  }

  get adapters(): readonly InfrastructureAdapter[] {
    return this.context.adapters;
  }

  view(): StateView {
    return storeView(this.context.store);
  }

  async run<Schema extends z.ZodType, Value extends OperationValue>(operation: Operation<Schema, Value>, input: z.input<Schema>, options: RunOptions = {}): Promise<RunResult<Value>> {
    if (this.closed) throw new StoreClosedError();
    if (operation?.kind !== 'ordo.operation') throw new InvalidArgumentError('operation', 'must come from defineOperation');
    const { telemetry } = this.context;
    if (telemetry === undefined) {
      const parsed = validate(operation, input);
      return this.queue.run(() => this.execute(operation, parsed, options));
    }
    return telemetry.step('operation', { operation: operation.name, requestId: options.requestId }, async () => {
      const parsed = await telemetry.step('validate', { operation: operation.name }, async () => validate(operation, input));
      return this.queue.run(() => this.execute(operation, parsed, options));
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.drain();
  }

  private async execute<Schema extends z.ZodType, Value extends OperationValue>(operation: Operation<Schema, Value>, input: z.output<Schema>, options: RunOptions): Promise<RunResult<Value>> {
    if (this.broken !== undefined) throw this.broken;
    await this.settleEarlierRevert();
    const result = await this.commit(operation, input, options);
    if (result.type === 'replayed') return this.replay(result);
    if (result.type === 'read-only') return { value: result.value, position: result.position, replayed: false };
    const batches = adapterBatches(this.context.adapters, result.changes);
    if (batches.length > 0) {
      const committed = { name: operation.name, txId: result.txId, position: result.position, changes: result.changes, adapters: batches.map((batch) => batch.adapter.name) };
      const report = await traced(this.context.telemetry, 'settle', { operation: operation.name, position: result.position }, () => this.settle(committed));
      this.unsettled = report.unsettled;
      if (report.error !== undefined) throw report.error;
    }
    return { value: result.value, position: result.position, replayed: false };
  }

  private async settle(committed: CommittedOperation): Promise<SettleReport> {
    try {
      return await finishOperation(this.context, committed, false);
    } catch (error) {
      this.broken = new OperationError({
        code: 'OUTCOME_UNKNOWN',
        message: `${committed.name} at position ${committed.position} is committed, but its outcome could not be recorded (${describeCause(error)}); restart the runtime: its recovery finishes or reverts it`,
        step: 'apply',
        details: { position: committed.position, operation: committed.name },
        cause: error,
      });
      throw this.broken;
    }
  }

  private async settleEarlierRevert(): Promise<void> {
    const compensation = this.unsettled;
    if (compensation === undefined) return;
    const failure = await applyAndRecord(this.context, compensation, false);
    if (failure === undefined) {
      this.unsettled = undefined;
      return;
    }
    throw new OperationError({
      code: 'EARLIER_REVERT_PENDING',
      message: `the revert of ${compensation.name} at position ${compensation.position} is not applied yet (${failure.message}); no new operation runs until it is`,
      step: 'apply',
      ...(failure.adapter === undefined ? {} : { adapter: failure.adapter }),
      ...(failure.entity === undefined ? {} : { entity: failure.entity }),
      details: { position: compensation.position, operation: compensation.name },
      cause: failure,
    });
  }

  /** Plan and prepare inside one transaction, so that a veto or a domain error writes nothing. */
  private commit<Schema extends z.ZodType, Value extends OperationValue>(operation: Operation<Schema, Value>, input: z.output<Schema>, options: RunOptions): Promise<TransactResult<Value>> {
    const { store, adapters, telemetry } = this.context;
    const commit = (): Promise<TransactResult<Value>> => store.transact(
      async (tx) => {
        let value: Value;
        try {
          value = await traced(telemetry, 'plan', { operation: operation.name }, async () => operation.plan(tx, input));
        } catch (error) {
          throw error instanceof OperationError ? error.at({ step: 'plan' }) : error;
        }
        const changes = tx.changes();
        if (changes.length === 0) return value;
        const batches = adapterBatches(adapters, changes);
        await prepareBatches(batches, storeView(store));
        const before = batches.length === 0 ? [] : beforeImages(changes);
        tx.setMeta(toMeta({ type: 'operation', adapters: batches.map((batch) => batch.adapter.name), before }));
        return value;
      },
      { operation: operation.name, ...(options.requestId === undefined ? {} : { requestId: options.requestId }) },
    );
    return traced(telemetry, 'commit', { operation: operation.name }, commit);
  }

  /** The first outcome of a requestId: its value, or the error it failed with at apply. */
  private async replay<Value>(result: ReplayedResult<Value>): Promise<RunResult<Value>> {
    const outcome = await this.outcomeOf(result.txId);
    if (outcome?.outcome === 'reverted') {
      const error = outcome.error;
      throw operationErrorFromJson(typeof error === 'object' && error !== null && !Array.isArray(error) ? (error as JsonObject) : {});
    }
    if (outcome === undefined && (await this.needsOutcome(result.position))) {
      throw new OperationError({
        code: 'OPERATION_UNSETTLED',
        message: `the operation with this requestId (position ${result.position}) is committed but not yet applied`,
        step: 'commit',
      });
    }
    return { value: result.value, position: result.position, replayed: true };
  }

  private async outcomeOf(txId: string): Promise<JsonObject | undefined> {
    try {
      const probe = await this.context.store.transact<JsonObject>(
        () => {
          throw new OutcomeMissing();
        },
        { requestId: outcomeRequestId(txId) },
      );
      return probe.value;
    } catch (error) {
      if (error instanceof OutcomeMissing) return undefined;
      throw error;
    }
  }

  private async needsOutcome(position: number): Promise<boolean> {
    try {
      const [record] = await this.context.store.read({ from: position, limit: 1 });
      const meta = record === undefined ? undefined : readMeta(record);
      return meta?.type === 'operation' && meta.adapters.length > 0;
    } catch (error) {
      if (isOrdoError(error, 'HISTORY_UNAVAILABLE')) return false;
      throw error;
    }
  }
}

function validate<Schema extends z.ZodType>(operation: Operation<Schema>, input: unknown): z.output<Schema> {
  const result = operation.input.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError({
    kind: operation.name,
    issues: result.error.issues.map((issue) => ({
      path: issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part)),
      message: issue.message,
      code: issue.code,
    })),
  });
}
