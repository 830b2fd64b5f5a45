import type { EntityRef } from '../errors.js';
import type { EntityChange } from '../state.js';
import type { InfrastructureAdapter, StateView } from './adapter.js';
import type { FencingToken } from './fencing-token.js';
import { OperationError, describeCause, type OperationStep } from './operation-error.js';

/** One adapter and the changes of its kinds. */
export interface AdapterBatch {
  readonly adapter: InfrastructureAdapter;
  readonly changes: readonly EntityChange[];
}

/** The adapters concerned by `changes`, in the runtime's order, each with the changes of its kinds. */
export function adapterBatches(adapters: readonly InfrastructureAdapter[], changes: readonly EntityChange[]): AdapterBatch[] {
  const batches: AdapterBatch[] = [];
  if (changes.length === 0) return batches;
  for (const adapter of adapters) {
    const mine = changes.filter((change) => adapter.kinds.includes(change.kind));
    if (mine.length > 0) batches.push({ adapter, changes: mine });
  }
  return batches;
}

export interface ApplyReport {
  /** Adapters whose apply was called, in order (the failed one last). */
  readonly attempted: readonly string[];
  readonly failure?: OperationError;
}

/** Applies the batches in order and stops at the first failure. */
export async function applyBatches(batches: readonly AdapterBatch[], view: StateView, token: FencingToken): Promise<ApplyReport> {
  const attempted: string[] = [];
  for (const { adapter, changes } of batches) {
    attempted.push(adapter.name);
    try {
      await adapter.apply({ changes, view, position: token.position, epoch: token.epoch });
    } catch (error) {
      return { attempted, failure: adapterError(error, adapter.name, 'apply', changes) };
    }
  }
  return { attempted };
}

/** Lets every concerned adapter veto the planned changes; throws the first veto. */
export async function prepareBatches(batches: readonly AdapterBatch[], view: StateView): Promise<void> {
  for (const { adapter, changes } of batches) {
    if (adapter.prepare === undefined) continue;
    try {
      await adapter.prepare({ changes, view });
    } catch (error) {
      throw adapterError(error, adapter.name, 'prepare', changes);
    }
  }
}

/**
 * An adapter's error as the caller sees it: its own OperationError keeps its code; anything
 * else becomes ADAPTER_FAILED with the error as cause. When the adapter did not say which
 * entity failed and it had only one, that one is named.
 */
export function adapterError(error: unknown, adapter: string, step: OperationStep, changes: readonly EntityChange[]): OperationError {
  const only = changes.length === 1 ? changes[0] : undefined;
  const entity: EntityRef | undefined = only === undefined ? undefined : { kind: only.kind, id: only.id };
  const context = { step, adapter, entity };
  if (error instanceof OperationError) return error.at(context);
  return new OperationError({
    code: 'ADAPTER_FAILED',
    message: `adapter ${adapter} failed to ${step}: ${describeCause(error)}`,
    ...context,
    cause: error,
  });
}
