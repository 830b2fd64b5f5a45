import type { z } from 'zod';
import { InvalidArgumentError, StoreClosedError, ValidationError, isOrdoError } from '../errors.js';
import type { Store } from '../store.js';
import type { InfrastructureAdapter, StateView } from './adapter.js';
import { commitOperation, type CommittedOperation } from './commit-operation.js';
import type { Operation, OperationValue } from './define-operation.js';
import { Limiter } from './limiter.js';
import { OperationError, describeCause, isOperationError } from './operation-error.js';
import { outcomeRequestId, readMeta } from './operation-meta.js';
import { ownedOperation, type OwnedOperation } from './owned-operation.js';
import { registerLease, releaseLease, renewLease, takeOver, takeoverCandidates } from './ownership.js';
import { HoldEntity, holdId, OperationEntity } from './runtime-entities.js';
import { pendingRunsMax, runtimeSettings, type CreateRuntimeOptions, type RuntimeSettings } from './runtime-options.js';
import { isTakenOver, reportOf, settleOperation, type RuntimeContext, type SettleReport } from './settle.js';
import { storeView } from './store-view.js';
import { idle } from './runtime-clock.js';
import { tracedAdapter } from './traced-adapter.js';
import { traced } from '../telemetry.js';
import type { RecoveredOperation } from './takeover.js';

/** How often a waiting run looks again (a busy entity, an outcome another runtime writes). */
const waitPollMs = 10;
/** The most entries `recovered` keeps (the newest). */
export const recoveredMax = 1_000;

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
 * apply (adapters in order), and compensation when apply fails. Many operations run at once;
 * an entity is written by at most one unsettled operation at a time, across every runtime on
 * the log, so adapters see each entity's changes in commit order (I11).
 */
export interface OperationRuntime {
  readonly store: Store;
  readonly adapters: readonly InfrastructureAdapter[];
  /** The id of this runtime's current lease (a new one after it was fenced). */
  readonly id: string | undefined;
  /** What this runtime settled of operations it took over: at its start, and from silent peers since. */
  readonly recovered: readonly RecoveredOperation[];
  /**
   * Resolves when the changes are committed and every adapter concerned has applied them.
   * Rejects with `ValidationError` (input; nothing written), `OperationError` (step 'plan':
   * a domain error or ENTITY_BUSY; 'prepare': a veto; 'commit': RUNTIME_FENCED, nothing
   * written; 'apply': committed, then compensated, or OPERATION_TAKEN_OVER / OUTCOME_UNKNOWN),
   * or the store's own error from the transaction, unchanged.
   */
  run<Schema extends z.ZodType, Value extends OperationValue>(operation: Operation<Schema, Value>, input: z.input<Schema>, options?: RunOptions): Promise<RunResult<Value>>;
  /** The store's state by kind name, as adapters see it. */
  view(): StateView;
  /** One round of the background work: renew the lease, take over silent peers, settle what this runtime owns. */
  tick(): Promise<void>;
  /** Waits for running operations, stops the background work and releases the lease when it owns nothing. Does not close the store. */
  close(): Promise<void>;
}

/**
 * Creates a runtime over `store`. It registers a lease, takes over the operations of leases
 * that expired (and of its own earlier incarnation, when `name` is given), settles them, and
 * lets the adapters reconcile before it resolves.
 */
export async function createRuntime(options: CreateRuntimeOptions): Promise<OperationRuntime> {
  const adapters = checkAdapters(options.adapters ?? []);
  if (typeof options.store?.transact !== 'function') throw new InvalidArgumentError('store', 'must be a store from openStore');
  const settings = runtimeSettings(options);
  const { telemetry } = options;
  const traced = telemetry === undefined ? adapters : Object.freeze(adapters.map((adapter) => tracedAdapter(adapter, telemetry)));
  const runtime = new Runtime({ store: options.store, adapters: traced, takeoversMax: settings.takeoversMax, telemetry }, settings);
  await runtime.start();
  return runtime;
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

class Runtime implements OperationRuntime {
  private readonly limiter: Limiter;
  private readonly settled: RecoveredOperation[] = [];
  /** Operations this process is settling now: the background work leaves them alone. */
  private readonly active = new Set<string>();
  private leaseId: string | undefined;
  private leasing: Promise<string> | undefined;
  private renewedAt = 0;
  private runs = 0;
  private closed = false;
  private ticking: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  /** Resolved by close, so that the background loop stops without finishing its pause. */
  private stop: () => void = () => undefined;
  private readonly stopped = new Promise<void>((resolve) => (this.stop = resolve));

  constructor(
    private readonly context: RuntimeContext,
    private readonly settings: RuntimeSettings,
  ) {
    this.limiter = new Limiter(settings.concurrency, pendingRunsMax);
  }

  get store(): Store {
    return this.context.store;
  }

  get adapters(): readonly InfrastructureAdapter[] {
    return this.context.adapters;
  }

  get id(): string | undefined {
    return this.leaseId;
  }

  get recovered(): readonly RecoveredOperation[] {
    return [...this.settled];
  }

  view(): StateView {
    return storeView(this.context.store);
  }

  async start(): Promise<void> {
    const { store, adapters } = this.context;
    await store.sync();
    await this.lease();
    await this.takeOverSilent(this.settings.name);
    await this.settleOwned();
    if (this.settings.reconcile) {
      const held = (kind: string, id: string): boolean => store.get(HoldEntity, holdId(kind, id)) !== undefined;
      for (const adapter of adapters) await adapter.reconcile?.({ view: storeView(store), held });
    }
    if (this.settings.background) this.loop = this.runLoop();
  }

  async run<Schema extends z.ZodType, Value extends OperationValue>(operation: Operation<Schema, Value>, input: z.input<Schema>, options: RunOptions = {}): Promise<RunResult<Value>> {
    if (this.closed) throw new StoreClosedError();
    if (operation?.kind !== 'ordo.operation') throw new InvalidArgumentError('operation', 'must come from defineOperation');
    const { telemetry } = this.context;
    if (telemetry === undefined) {
      const parsed = validate(operation, input);
      return this.limiter.run(() => this.execute(operation, parsed, options));
    }
    return telemetry.step('operation', { operation: operation.name, requestId: options.requestId }, async () => {
      const parsed = await telemetry.step('validate', { operation: operation.name }, async () => validate(operation, input));
      return this.limiter.run(() => this.execute(operation, parsed, options));
    });
  }

  tick(): Promise<void> {
    this.ticking ??= this.tickOnce().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop();
    await this.limiter.drain();
    await this.loop;
    await this.ticking;
    if (this.leaseId !== undefined) await releaseLease(this.context.store, this.leaseId).catch(this.settings.onBackgroundError);
  }

  private async execute<Schema extends z.ZodType, Value extends OperationValue>(operation: Operation<Schema, Value>, input: z.output<Schema>, options: RunOptions): Promise<RunResult<Value>> {
    // The lease is known but after a start or a fencing: no await then.
    const owner = this.leaseId ?? (await this.lease());
    this.runs += 1;
    const requestId = options.requestId ?? `ordo.run:${owner}:${this.runs}`;
    // Marked before the commit: from the moment the operation is in the store, the background
    // round's settleOwned would otherwise take it for one left behind and apply it a second
    // time, beside this run's own settle. A replay of a requestId another run works on leaves
    // that run's mark alone.
    const marked = !this.active.has(requestId);
    if (marked) this.active.add(requestId);
    try {
      return await this.commitAndSettle(operation, input, options, owner, requestId);
    } finally {
      if (marked) this.active.delete(requestId);
    }
  }

  private async commitAndSettle<Schema extends z.ZodType, Value extends OperationValue>(
    operation: Operation<Schema, Value>,
    input: z.output<Schema>,
    options: RunOptions,
    owner: string,
    requestId: string,
  ): Promise<RunResult<Value>> {
    let committed: CommittedOperation<Value>;
    try {
      const { store, adapters, telemetry } = this.context;
      committed = await this.commitWaiting({ store, adapters, operation, input, requestId, owner, telemetry, requestIdMade: options.requestId === undefined });
    } catch (error) {
      // Fenced: the next run registers a new lease at once rather than after the next renewal.
      if (isOperationError(error, 'RUNTIME_FENCED') && this.leaseId === owner) this.leaseId = undefined;
      throw error;
    }
    const { result } = committed;
    if (result.type === 'replayed') return this.replay(requestId, result);
    if (result.type === 'read-only') return { value: result.value, position: result.position, replayed: false };
    if (committed.adapters.length > 0) {
      const owned: OwnedOperation = {
        id: requestId,
        name: operation.name,
        epoch: 0,
        takeovers: 0,
        record: { txId: result.txId, position: result.position, changes: committed.changes, adapters: committed.adapters },
      };
      const report = await traced(this.context.telemetry, 'settle', { operation: operation.name, position: result.position }, () => this.settleOwn(owned, owner));
      if (report.outcome === 'reverted') throw report.error;
    }
    return { value: result.value, position: result.position, replayed: false };
  }

  /** Commits, waiting up to entityBusyWaitMs while an entity the plan writes is held. */
  private async commitWaiting<Schema extends z.ZodType, Value extends OperationValue>(input: Parameters<typeof commitOperation<Schema, Value>>[0]): Promise<CommittedOperation<Value>> {
    const { clock, entityBusyWaitMs } = this.settings;
    const deadline = clock.now() + entityBusyWaitMs;
    for (;;) {
      try {
        return await commitOperation(input);
      } catch (error) {
        if (!isOperationError(error, 'ENTITY_BUSY') || clock.now() >= deadline || this.closed) throw error;
      }
      await clock.sleep(waitPollMs);
      await this.context.store.sync();
    }
  }

  /** Settles an operation this runtime committed; a takeover meanwhile makes it wait for the new owner's outcome. */
  private async settleOwn(owned: OwnedOperation, owner: string): Promise<SettleReport> {
    try {
      return await settleOperation(this.context, owned, owner);
    } catch (error) {
      if (isTakenOver(error)) return (await this.awaitOutcome(owned.id, owned.record.txId)) ?? Promise.reject(error);
      throw new OperationError({
        code: 'OUTCOME_UNKNOWN',
        message: `${owned.name} at position ${owned.record.position} is committed, but its outcome could not be recorded (${describeCause(error)}); its owner settles it when the log store works again, or a peer takes it over when this runtime stops renewing its lease; replay the requestId for its outcome`,
        step: 'apply',
        details: { position: owned.record.position, operation: owned.name, requestId: owned.id },
        cause: error,
      });
    }
  }

  /** The first outcome of a requestId: its value, or the error it failed with at apply. */
  private async replay<Value>(requestId: string, result: { value: Value; position: number; txId: string }): Promise<RunResult<Value>> {
    const store = this.context.store;
    const report = store.outcome(outcomeRequestId(result.txId)) !== undefined || store.get(OperationEntity, requestId) !== undefined ? await this.awaitOutcome(requestId, result.txId) : undefined;
    if (report?.outcome === 'reverted') throw report.error;
    if (report === undefined && (store.get(OperationEntity, requestId) !== undefined || (await this.legacyUnsettled(result.position)))) {
      throw new OperationError({
        code: 'OPERATION_UNSETTLED',
        message: `the operation with this requestId (position ${result.position}) is committed but not settled yet; its owner or a runtime that takes it over settles it: retry later`,
        step: 'commit',
        details: { position: result.position, requestId },
      });
    }
    return { value: result.value, position: result.position, replayed: true };
  }

  /** Waits up to settleWaitMs for the outcome of an operation that another owner settles. */
  private async awaitOutcome(requestId: string, txId: string): Promise<SettleReport | undefined> {
    const { store } = this.context;
    const { clock, settleWaitMs } = this.settings;
    const deadline = clock.now() + settleWaitMs;
    for (;;) {
      const outcome = store.outcome(outcomeRequestId(txId));
      if (outcome !== undefined) return reportOf(outcome.result);
      if (store.get(OperationEntity, requestId) === undefined || clock.now() >= deadline) return undefined;
      await clock.sleep(waitPollMs);
      await store.sync();
    }
  }

  /** An operation committed by an older runtime, which kept no `ordo.operation` entity: settled only if an outcome names it. */
  private async legacyUnsettled(position: number): Promise<boolean> {
    try {
      const [record] = await this.context.store.read({ from: position, limit: 1 });
      const meta = record === undefined ? undefined : readMeta(record);
      return meta?.type === 'operation' && meta.adapters.length > 0;
    } catch (error) {
      if (isOrdoError(error, 'HISTORY_UNAVAILABLE')) return false;
      throw error;
    }
  }

  /** This runtime's lease, registered when it has none (at start, and after it was fenced). */
  private lease(): Promise<string> {
    if (this.leaseId !== undefined) return Promise.resolve(this.leaseId);
    this.leasing ??= (async () => {
      const now = this.settings.clock.now();
      const id = await registerLease(this.context.store, { name: this.settings.name, expiresAt: now + this.settings.leaseMs });
      this.leaseId = id;
      this.renewedAt = now;
      return id;
    })().finally(() => (this.leasing = undefined));
    return this.leasing;
  }

  private async runLoop(): Promise<void> {
    while (!this.closed) {
      await Promise.race([idle(this.settings.clock, Math.min(this.settings.checkEveryMs, this.settings.renewEveryMs)), this.stopped]);
      if (this.closed) break;
      await this.tick().catch(this.settings.onBackgroundError);
    }
  }

  private async tickOnce(): Promise<void> {
    const { store } = this.context;
    await store.sync();
    await this.renew();
    await this.takeOverSilent(undefined);
    await this.settleOwned();
  }

  private async renew(): Promise<void> {
    const now = this.settings.clock.now();
    if (this.leaseId === undefined) {
      await this.lease();
      return;
    }
    if (now - this.renewedAt < this.settings.renewEveryMs) return;
    const leaseId = this.leaseId;
    if (await renewLease(this.context.store, leaseId, now + this.settings.leaseMs)) this.renewedAt = now;
    // Fenced: a peer took the lease and everything it owned. A new lease serves new runs.
    else if (this.leaseId === leaseId) this.leaseId = undefined;
  }

  private async takeOverSilent(restartOf: string | undefined): Promise<void> {
    const owner = await this.lease();
    const input = { owner, now: this.settings.clock.now(), restartOf };
    for (const leaseId of takeoverCandidates(this.context.store, input)) await takeOver(this.context.store, leaseId, input);
  }

  /** Settles every operation this runtime owns that nothing in this process works on: taken over, or left by a failure. */
  private async settleOwned(): Promise<void> {
    const owner = this.leaseId;
    if (owner === undefined) return;
    const { store } = this.context;
    for (const entity of store.find(OperationEntity, { owner })) {
      if (this.active.has(entity.id) || this.closed) continue;
      const owned = ownedOperation(store, entity);
      this.active.add(owned.id);
      try {
        const report = await settleOperation(this.context, owned, owner);
        // A revert still pending is tried again next round; it is listed once it is done.
        if (report.outcome === 'applied' || !report.pending) this.settled.push(recoveredOf(owned, report));
        if (this.settled.length > recoveredMax) this.settled.splice(0, this.settled.length - recoveredMax);
      } catch (error) {
        if (!isTakenOver(error)) throw error;
      } finally {
        this.active.delete(owned.id);
      }
    }
  }
}

function recoveredOf(owned: OwnedOperation, report: SettleReport): RecoveredOperation {
  const base = { operation: owned.name, requestId: owned.id, position: owned.record.position, txId: owned.record.txId, record: owned.revert === undefined ? ('operation' as const) : ('compensation' as const) };
  if (report.outcome === 'applied') return { ...base, outcome: 'applied' };
  return { ...base, outcome: report.pending ? 'pending' : 'reverted', error: report.error };
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
