import { InvalidArgumentError } from '../errors.js';
import type { Entity, JsonObject } from '../record.js';
import type { EntityChange } from '../state.js';
import type { Store } from '../store.js';
import type { Transaction } from '../transaction.js';
import type { InfrastructureAdapter } from './adapter.js';
import { adapterBatches, applyBatches } from './adapter-calls.js';
import { isOperationError, OperationError, operationErrorFromJson } from './operation-error.js';
import { beforeImages, outcomeRequestId, toMeta } from './operation-meta.js';
import type { CommittedRecord, OwnedOperation } from './owned-operation.js';
import { HoldEntity, holdId, isRuntimeKind, OperationEntity } from './runtime-entities.js';
import { storeView } from './store-view.js';
import { traced, type Telemetry } from '../telemetry.js';

export interface RuntimeContext {
  readonly store: Store;
  readonly adapters: readonly InfrastructureAdapter[];
  /** The most takeovers an operation may see before it is reverted without being applied again. */
  readonly takeoversMax: number;
  readonly telemetry?: Telemetry | undefined;
}

/** How settling an operation ended. */
export type SettleReport =
  | { readonly outcome: 'applied' }
  /** Compensated: `error` is what the caller sees. `pending` when the revert is committed but an adapter failed to apply it (the owner retries). */
  | { readonly outcome: 'reverted'; readonly error: OperationError; readonly pending: boolean };

/**
 * Applies an owned operation and records its outcome; when an adapter fails, compensates it.
 * An operation in phase 'revert' gets its revert applied again. Every write checks in its own
 * transaction that `owner` still owns the operation at this epoch: a runtime that lost it
 * (a takeover) gets OPERATION_TAKEN_OVER and writes nothing (fencing, I11).
 */
export async function settleOperation(context: RuntimeContext, operation: OwnedOperation, owner: string): Promise<SettleReport> {
  if (operation.revert !== undefined) {
    const error = operationErrorFromJson(operation.error ?? {});
    return applyRevert(context, operation, operation.revert, owner, error);
  }
  if (operation.takeovers > context.takeoversMax) {
    const error = new OperationError({
      code: 'OPERATION_TAKEOVERS_EXHAUSTED',
      message: `${operation.name} at position ${operation.record.position} was taken over ${operation.takeovers} times (its runtimes stopped while applying it); it is reverted without being applied again`,
      step: 'apply',
      details: { position: operation.record.position, takeovers: operation.takeovers, takeoversMax: context.takeoversMax },
    });
    return compensate(context, operation, owner, { attempted: operation.record.adapters, failure: error });
  }
  const batches = adapterBatches(adaptersNamed(context, operation.record.adapters), operation.record.changes);
  const report = await applyBatches(batches, storeView(context.store), { position: operation.record.position, epoch: operation.epoch });
  if (report.failure === undefined) return recordOutcome(context, operation, owner);
  const failure = report.failure;
  return traced(context.telemetry, 'compensate', { operation: operation.name, position: operation.record.position, code: failure.code }, () =>
    compensate(context, operation, owner, { attempted: report.attempted, failure }),
  );
}

/** Writes the record that says the operation was applied, and releases it. */
async function recordOutcome(context: RuntimeContext, operation: OwnedOperation, owner: string): Promise<SettleReport> {
  const result = await context.store.transact(
    (tx) => {
      release(tx, operation, owner);
      tx.setMeta(toMeta({ type: 'outcome', of: operation.record.txId, ofPosition: operation.record.position, recovered: operation.takeovers > 0 }));
      return { outcome: 'applied' };
    },
    { requestId: outcomeRequestId(operation.record.txId), operation: operation.name },
  );
  return result.type === 'replayed' ? reportOf(result.value) : { outcome: 'applied' };
}

/**
 * Reverts a failed operation in one record linked to it: every entity it changed is put back,
 * except one that a plain transaction changed since (its change is kept, never overwritten:
 * listed in the error's `details.superseded`). The adapters that were asked to apply the
 * operation apply the revert in reverse order; then the revert's own outcome releases it.
 */
async function compensate(context: RuntimeContext, operation: OwnedOperation, owner: string, applied: { attempted: readonly string[]; failure: OperationError }): Promise<SettleReport> {
  const revertAdapters = [...applied.attempted].reverse();
  let failure = applied.failure;
  const result = await context.store.transact(
    (tx) => {
      const superseded = revertChanges(tx, context.store, operation.record.changes);
      failure = superseded.length === 0 ? applied.failure : withSuperseded(applied.failure, superseded);
      const revertChangesMade = tx.changes().filter((change) => !isRuntimeKind(change.kind));
      const errorJson = failure.toJSON();
      requireOwned(tx, operation, owner);
      tx.update(OperationEntity, operation.id, { phase: 'revert', revertAdapters, revertChanges: [...revertChangesMade], error: errorJson });
      tx.setMeta(
        toMeta({ type: 'compensation', of: operation.record.txId, ofPosition: operation.record.position, adapters: revertAdapters, before: beforeImages(revertChangesMade), error: errorJson }),
      );
      return { outcome: 'reverted', error: errorJson };
    },
    { requestId: outcomeRequestId(operation.record.txId), operation: operation.name },
  );
  // Replayed: another runtime settled it first; its outcome is the true one.
  if (result.type === 'replayed') return reportOf(result.value);
  const revertChangesMade = result.changes.filter((change) => !isRuntimeKind(change.kind));
  const revert: CommittedRecord = { txId: result.txId, position: result.position, changes: revertChangesMade, adapters: revertAdapters };
  return applyRevert(context, { ...operation, revert }, revert, owner, failure);
}

async function applyRevert(context: RuntimeContext, operation: OwnedOperation, revert: CommittedRecord, owner: string, failure: OperationError): Promise<SettleReport> {
  const batches = adapterBatches(adaptersNamed(context, revert.adapters), revert.changes);
  const report = await applyBatches(batches, storeView(context.store), { position: revert.position, epoch: operation.epoch });
  if (report.failure !== undefined) {
    const error = new OperationError({
      ...failureFields(failure),
      message: `${failure.message}; undoing it failed too (${report.failure.message}); its runtime applies the revert again until it succeeds`,
    });
    return { outcome: 'reverted', error, pending: true };
  }
  await context.store.transact(
    (tx) => {
      release(tx, operation, owner);
      tx.setMeta(toMeta({ type: 'outcome', of: revert.txId, ofPosition: revert.position, recovered: operation.takeovers > 0 }));
      return { outcome: 'applied' };
    },
    { requestId: outcomeRequestId(revert.txId), operation: operation.name },
  );
  return { outcome: 'reverted', error: failure, pending: false };
}

/** Deletes the operation's entity and its holds, after checking that `owner` still owns it. */
function release(tx: Transaction, operation: OwnedOperation, owner: string): void {
  requireOwned(tx, operation, owner);
  for (const change of operation.record.changes) {
    const id = holdId(change.kind, change.id);
    if (tx.get(HoldEntity, id)?.data.operation === operation.id) tx.delete(HoldEntity, id);
  }
  tx.delete(OperationEntity, operation.id);
}

/** The fencing check: reading the operation's entity puts it in the read set, so a takeover committed since conflicts (I5). */
export function requireOwned(tx: Transaction, operation: OwnedOperation, owner: string): void {
  const entity = tx.get(OperationEntity, operation.id);
  if (entity !== undefined && entity.data.owner === owner && entity.data.epoch === operation.epoch) return;
  throw new OperationError({
    code: 'OPERATION_TAKEN_OVER',
    message: `${operation.name} at position ${operation.record.position} is no longer owned by this runtime (epoch ${operation.epoch}): another runtime took it over and settles it`,
    step: 'apply',
    details: {
      position: operation.record.position,
      requestId: operation.id,
      epoch: operation.epoch,
      owner: entity?.data.owner ?? null,
      ownerEpoch: entity?.data.epoch ?? null,
    },
  });
}

/** Puts back every entity `changes` changed, last change first; returns the entities changed since, which are left alone. */
function revertChanges(tx: Transaction, store: Store, changes: readonly EntityChange[]): JsonObject[] {
  const superseded: JsonObject[] = [];
  for (const change of [...changes].reverse()) {
    const type = store.entityType(change.kind);
    if (type === undefined) throw new InvalidArgumentError('entities', `the store cannot revert ${change.kind} ${change.id}: kind not registered`);
    const current = tx.get(type, change.id) as Entity | undefined;
    if (current?.version !== change.after?.version) {
      superseded.push({ kind: change.kind, id: change.id });
      continue;
    }
    if (change.op === 'create') {
      tx.delete(type, change.id);
      continue;
    }
    const before = change.before;
    if (before === undefined) throw new InvalidArgumentError('changes', `no before-image to revert ${change.kind} ${change.id}`);
    if (current === undefined) tx.create(type, before.data, { id: change.id });
    else tx.update(type, change.id, () => before.data as never);
  }
  return superseded;
}

function withSuperseded(failure: OperationError, superseded: JsonObject[]): OperationError {
  return new OperationError({
    ...failureFields(failure),
    message: `${failure.message}; ${superseded.length} entit${superseded.length === 1 ? 'y was' : 'ies were'} changed by another transaction since and kept as they are`,
    details: { ...(failure.details ?? {}), superseded },
  });
}

/** What another runtime recorded as the outcome of an operation (the value of its outcome or compensation record). */
export function reportOf(value: unknown): SettleReport {
  const body = (typeof value === 'object' && value !== null ? value : {}) as { outcome?: unknown; error?: unknown };
  if (body.outcome !== 'reverted') return { outcome: 'applied' };
  const error = typeof body.error === 'object' && body.error !== null && !Array.isArray(body.error) ? (body.error as JsonObject) : {};
  return { outcome: 'reverted', error: operationErrorFromJson(error), pending: false };
}

export function adaptersNamed(context: RuntimeContext, names: readonly string[]): InfrastructureAdapter[] {
  const missing = names.filter((name) => !context.adapters.some((adapter) => adapter.name === name));
  if (missing.length > 0) {
    throw new InvalidArgumentError('adapters', `the log needs adapter(s) ${missing.join(', ')}, which this runtime was not given`);
  }
  // In the order of `names`: the runtime's order for operations, the reverse for compensations.
  return names.map((name) => context.adapters.find((adapter) => adapter.name === name) as InfrastructureAdapter);
}

export function isTakenOver(error: unknown): error is OperationError {
  return isOperationError(error, 'OPERATION_TAKEN_OVER');
}

function failureFields(failure: OperationError): ConstructorParameters<typeof OperationError>[0] {
  return {
    code: failure.code,
    message: failure.message,
    step: failure.step,
    adapter: failure.adapter,
    entity: failure.entity,
    details: failure.details,
    cause: failure.cause ?? failure.message,
  };
}
