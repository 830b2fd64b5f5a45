import type { JsonObject } from '../record.js';
import type { EntityChange } from '../state.js';
import type { Store } from '../store.js';
import { InternalError } from '../errors.js';
import { outcomeRequestId } from './operation-meta.js';
import type { OperationEntity } from './runtime-entities.js';
import type { EntityOf } from '../transaction.js';

/** A committed record the owner must have applied by its adapters: the operation's, or its revert's. */
export interface CommittedRecord {
  readonly txId: string;
  readonly position: number;
  readonly changes: readonly EntityChange[];
  readonly adapters: readonly string[];
}

/**
 * An unsettled operation as its owner works on it, rebuilt from its `ordo.operation` entity
 * and the request outcomes of the store's state (the positions of its records).
 */
export interface OwnedOperation {
  /** The operation's requestId, which is also its entity's id. */
  readonly id: string;
  readonly name: string;
  readonly epoch: number;
  readonly takeovers: number;
  readonly record: CommittedRecord;
  /** Set in phase 'revert': the committed compensation, still to be applied. */
  readonly revert?: CommittedRecord;
  readonly error?: JsonObject | undefined;
}

type OperationRow = EntityOf<typeof OperationEntity>;

/** The operation an `ordo.operation` entity stands for. The store's state must include its records. */
export function ownedOperation(store: Store, entity: OperationRow): OwnedOperation {
  const data = entity.data;
  const committed = store.outcome(entity.id);
  if (committed === undefined) throw new InternalError(`operation ${entity.id} has an entity but no record in the state`);
  const record: CommittedRecord = { txId: committed.txId, position: committed.position, changes: data.changes as EntityChange[], adapters: data.adapters };
  const base = { id: entity.id, name: data.name, epoch: data.epoch, takeovers: data.takeovers, record };
  if (data.phase === 'apply') return base;
  const compensation = store.outcome(outcomeRequestId(committed.txId));
  if (compensation === undefined) throw new InternalError(`operation ${entity.id} is reverting but its compensation is not in the state`);
  const revert: CommittedRecord = {
    txId: compensation.txId,
    position: compensation.position,
    changes: (data.revertChanges ?? []) as EntityChange[],
    adapters: data.revertAdapters ?? [],
  };
  return { ...base, revert, error: data.error as JsonObject | undefined };
}
