import { InvalidArgumentError } from '../errors.js';
import type { EntityChange } from '../state.js';
import type { Store } from '../store.js';
import type { Transaction } from '../transaction.js';
import type { InfrastructureAdapter } from './adapter.js';
import { adapterBatches, applyBatches } from './adapter-calls.js';
import { OperationError, describeCause } from './operation-error.js';
import { beforeImages, outcomeRequestId, toMeta } from './operation-meta.js';
import { storeView } from './store-view.js';
import { traced, type Telemetry } from '../telemetry.js';

export interface RuntimeContext {
  readonly store: Store;
  readonly adapters: readonly InfrastructureAdapter[];
  readonly telemetry?: Telemetry | undefined;
}

/** A record the runtime committed (an operation or a compensation) that its adapters must apply. */
export interface CommittedOperation {
  readonly name: string;
  readonly txId: string;
  readonly position: number;
  /** The committed changes with before and after images. */
  readonly changes: readonly EntityChange[];
  /** The adapters that must apply it, in order. */
  readonly adapters: readonly string[];
}

/** How settling a committed operation ended. */
export interface SettleReport {
  /** The error the caller should see; undefined when every adapter applied the operation. */
  readonly error?: OperationError;
  /**
   * A compensation whose reverting changes an adapter failed to apply: it is committed but
   * not settled. The runtime applies it again before anything else.
   */
  readonly unsettled?: CommittedOperation;
}

/**
 * Applies a committed operation and records its outcome. When an adapter fails, the
 * operation is compensated and the adapter's error is reported.
 */
export async function finishOperation(context: RuntimeContext, operation: CommittedOperation, recovered: boolean): Promise<SettleReport> {
  const batches = adapterBatches(adaptersNamed(context, operation.adapters), operation.changes);
  const report = await applyBatches(batches, storeView(context.store), operation.position);
  if (report.failure === undefined) {
    await recordOutcome(context, operation, recovered);
    return {};
  }
  const failure = report.failure;
  return traced(context.telemetry, 'compensate', { operation: operation.name, position: operation.position, code: failure.code }, () =>
    compensate(context, operation, report.attempted, failure),
  );
}

/**
 * Applies a committed record's changes with its adapters and records the outcome; no
 * compensation. For compensations (a revert is not reverted) and for retrying them.
 * Returns the adapter's error when one fails.
 */
export async function applyAndRecord(context: RuntimeContext, operation: CommittedOperation, recovered: boolean): Promise<OperationError | undefined> {
  const batches = adapterBatches(adaptersNamed(context, operation.adapters), operation.changes);
  const report = await applyBatches(batches, storeView(context.store), operation.position);
  if (report.failure !== undefined) return report.failure;
  await recordOutcome(context, operation, recovered);
  return undefined;
}

/**
 * Reverts a failed operation: one record, linked to it, puts back every entity it changed;
 * the adapters that were asked to apply it (the failed one too: it may have done half) apply
 * the reverting changes, in reverse order; then the compensation's own outcome is recorded.
 */
export async function compensate(context: RuntimeContext, operation: CommittedOperation, attempted: readonly string[], failure: OperationError): Promise<SettleReport> {
  const revertAdapters = [...attempted].reverse();
  const errorJson = failure.toJSON();
  const result = await context.store.transact(
    (tx) => {
      revertChanges(tx, context.store, operation.changes);
      tx.setMeta(
        toMeta({ type: 'compensation', of: operation.txId, ofPosition: operation.position, adapters: revertAdapters, before: beforeImages(tx.changes()), error: errorJson }),
      );
      return { outcome: 'reverted', error: errorJson };
    },
    { requestId: outcomeRequestId(operation.txId), operation: operation.name },
  );
  // Replayed: the outcome of this operation was already recorded (by another recovery); nothing more to undo here.
  if (result.replayed) return { error: failure };
  const compensation: CommittedOperation = { name: operation.name, txId: result.txId, position: result.position, changes: result.changes, adapters: revertAdapters };
  const revertFailure = await applyAndRecord(context, compensation, false);
  if (revertFailure === undefined) return { error: failure };
  const error = new OperationError({
    ...failureFields(failure),
    message: `${failure.message}; undoing it failed too (${revertFailure.message}); the runtime applies the revert again before its next operation`,
  });
  return { error, unsettled: compensation };
}

/** Writes the record that says `operation` was applied by all its adapters. */
export async function recordOutcome(context: RuntimeContext, operation: CommittedOperation, recovered: boolean): Promise<void> {
  await context.store.transact(
    (tx) => {
      tx.setMeta(toMeta({ type: 'outcome', of: operation.txId, ofPosition: operation.position, recovered }));
      return { outcome: 'applied' };
    },
    { requestId: outcomeRequestId(operation.txId), operation: operation.name },
  );
}

/** Puts every entity back as it was before `changes`, last change first. */
function revertChanges(tx: Transaction, store: Store, changes: readonly EntityChange[]): void {
  for (const change of [...changes].reverse()) {
    const type = store.entityType(change.kind);
    if (type === undefined) throw new InvalidArgumentError('entities', `the store cannot revert ${change.kind} ${change.id}: kind not registered`);
    const current = tx.get(type, change.id);
    if (change.op === 'create') {
      if (current !== undefined) tx.delete(type, change.id);
      continue;
    }
    const before = change.before;
    if (before === undefined) throw new InvalidArgumentError('changes', `no before-image to revert ${change.kind} ${change.id}`);
    if (current === undefined) tx.create(type, before.data, { id: change.id });
    else tx.update(type, change.id, () => before.data as never);
  }
}

export function adaptersNamed(context: RuntimeContext, names: readonly string[]): InfrastructureAdapter[] {
  const missing = names.filter((name) => !context.adapters.some((adapter) => adapter.name === name));
  if (missing.length > 0) {
    throw new InvalidArgumentError('adapters', `the log needs adapter(s) ${missing.join(', ')}, which this runtime was not given`);
  }
  // In the order of `names`: the runtime's order for operations, the reverse for compensations.
  return names.map((name) => context.adapters.find((adapter) => adapter.name === name) as InfrastructureAdapter);
}

function failureFields(failure: OperationError): ConstructorParameters<typeof OperationError>[0] {
  return {
    code: failure.code,
    message: failure.message,
    step: failure.step,
    ...(failure.adapter === undefined ? {} : { adapter: failure.adapter }),
    ...(failure.entity === undefined ? {} : { entity: failure.entity }),
    ...(failure.details === undefined ? {} : { details: failure.details }),
    cause: failure.cause ?? describeCause(failure),
  };
}
