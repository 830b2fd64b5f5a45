import type { z } from 'zod';
import type { EntityChange } from '../state.js';
import type { RecordedResult, Store } from '../store.js';
import { traced, type Telemetry } from '../telemetry.js';
import type { Transaction } from '../transaction.js';
import type { InfrastructureAdapter } from './adapter.js';
import { adapterBatches, prepareBatches } from './adapter-calls.js';
import type { Operation, OperationValue } from './define-operation.js';
import { OperationError } from './operation-error.js';
import { beforeImages, toMeta } from './operation-meta.js';
import { runtimeFenced } from './ownership.js';
import { BuiltHoldEntity, BuiltOperationEntity, HoldEntity, holdId, LeaseEntity, OperationEntity } from './runtime-entities.js';
import { storeView } from './store-view.js';

export interface CommitInput<Schema extends z.ZodType, Value extends OperationValue> {
  readonly store: Store;
  readonly adapters: readonly InfrastructureAdapter[];
  readonly operation: Operation<Schema, Value>;
  readonly input: z.output<Schema>;
  /** The caller's requestId, or one the runtime made: also the id of the operation's entity. */
  readonly requestId: string;
  /** The lease that will own the operation until it settles. */
  readonly owner: string;
  /** True when the runtime made the requestId (the caller gave none): a plan that changes nothing then writes no record. */
  readonly requestIdMade: boolean;
  readonly telemetry?: Telemetry | undefined;
}

export interface CommittedOperation<Value> {
  /** 'read-only' for a plan that changed nothing without a caller's requestId. */
  readonly result: RecordedResult<Value> | { readonly type: 'read-only'; readonly value: Value; readonly position: number };
  /** The application's changes (without the runtime's own entities). */
  readonly changes: readonly EntityChange[];
  /** The adapters that must apply them, in order; empty when the operation was settled at commit. */
  readonly adapters: readonly string[];
}

/**
 * Plan, hold checks and prepare inside one transaction, so that a domain error, a busy entity
 * or a veto writes nothing. An operation some adapter must apply commits, in the same record,
 * its `ordo.operation` entity (owner: this runtime's lease, which the transaction reads, so a
 * takeover of the lease conflicts) and a hold on every entity it writes.
 */
export async function commitOperation<Schema extends z.ZodType, Value extends OperationValue>(input: CommitInput<Schema, Value>): Promise<CommittedOperation<Value>> {
  const { store, adapters, operation, requestId, owner, telemetry } = input;
  let changes: readonly EntityChange[] = [];
  let applying: readonly string[] = [];
  let result: RecordedResult<Value>;
  try {
    // The functions are passed as they are made: a named closure costs more under a name-keeping transform (tsx).
    result = await traced(telemetry, 'commit', { operation: operation.name }, () =>
      store.transact(
        async (tx) => {
          let value: Value;
          try {
            // Without telemetry a synchronous plan is called as it is, with no promise of its own.
            const planned = telemetry === undefined ? operation.plan(tx, input.input) : traced(telemetry, 'plan', { operation: operation.name }, async () => operation.plan(tx, input.input));
            value = isThenable(planned) ? await planned : planned;
          } catch (error) {
            throw error instanceof OperationError ? error.at({ step: 'plan' }) : error;
          }
          changes = tx.changes();
          applying = [];
          // Without a caller's requestId nothing needs keeping: leave the transaction so that it writes no record.
          if (changes.length === 0 && input.requestIdMade) throw new NothingChanged(value);
          if (changes.length === 0) return value;
          checkHolds(tx, store, changes);
          const batches = adapterBatches(adapters, changes);
          await prepareBatches(batches, storeView(store));
          applying = batches.map((batch) => batch.adapter.name);
          if (batches.length > 0) claim(tx, { requestId, owner, name: operation.name, changes, adapters: applying });
          tx.setMeta(toMeta({ type: 'operation', adapters: applying, before: batches.length === 0 ? [] : beforeImages(changes) }));
          return value;
        },
        { operation: operation.name, requestId },
      ),
    );
  } catch (error) {
    if (!(error instanceof NothingChanged)) throw error;
    return { result: { type: 'read-only', value: error.value as Value, position: store.position }, changes: [], adapters: [] };
  }
  const replayed = result.type === 'replayed';
  return { result, changes: replayed ? [] : changes, adapters: replayed ? [] : applying };
}

function isThenable<Value>(value: Value | PromiseLike<Value>): value is PromiseLike<Value> {
  return typeof (value as PromiseLike<Value> | undefined)?.then === 'function';
}

/** Ends a plan that changed nothing; its reads held, or the store would have run it again. */
class NothingChanged extends Error {
  constructor(readonly value: unknown) {
    super('nothing changed');
  }
}

function claim(tx: Transaction, input: { requestId: string; owner: string; name: string; changes: readonly EntityChange[]; adapters: readonly string[] }): void {
  if (tx.get(LeaseEntity, input.owner) === undefined) throw runtimeFenced(input.owner);
  tx.create(
    BuiltOperationEntity,
    { name: input.name, owner: input.owner, epoch: 0, takeovers: 0, adapters: [...input.adapters], changes: [...input.changes], phase: 'apply' },
    { id: input.requestId },
  );
  for (const change of input.changes) tx.create(BuiltHoldEntity, { operation: input.requestId }, { id: holdId(change.kind, change.id) });
}

/**
 * ENTITY_BUSY when another unsettled operation holds an entity the plan writes. Reading the
 * hold puts it in the read set: a hold committed meanwhile conflicts, and one released
 * meanwhile makes the store run the plan again (the error was decided on a stale read).
 */
function checkHolds(tx: Transaction, store: Store, changes: readonly EntityChange[]): void {
  for (const change of changes) {
    const hold = tx.get(HoldEntity, holdId(change.kind, change.id));
    if (hold === undefined) continue;
    const holder = tx.get(OperationEntity, hold.data.operation);
    const position = store.outcome(hold.data.operation)?.position ?? null;
    throw new OperationError({
      code: 'ENTITY_BUSY',
      message: `${change.kind} ${change.id} is held by ${holder?.data.name ?? 'an operation'} at position ${position ?? '?'}, which is not settled yet`,
      step: 'plan',
      entity: { kind: change.kind, id: change.id },
      details: { operation: holder?.data.name ?? null, requestId: hold.data.operation, position, runtime: holder?.data.owner ?? null },
    });
  }
}
