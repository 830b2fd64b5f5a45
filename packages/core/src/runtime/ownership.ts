import type { Store } from '../store.js';
import { OperationError } from './operation-error.js';
import { LeaseEntity, OperationEntity } from './runtime-entities.js';

/** Registers a new lease for a runtime; its id is the runtime's id until it is fenced. */
export async function registerLease(store: Store, input: { readonly name: string | undefined; readonly expiresAt: number }): Promise<string> {
  const { value } = await store.transact((tx) => tx.create(LeaseEntity, { name: input.name, expiresAt: input.expiresAt }).id, { operation: 'ordo.lease.register' });
  return value;
}

/**
 * Moves the lease's expiry forward. Returns false when the lease is gone: a peer took it
 * over (this runtime was silent past its expiry) and it owns nothing any more. The renewal
 * and a takeover both read and write the lease, so exactly one of two racing ones commits.
 */
export async function renewLease(store: Store, leaseId: string, expiresAt: number): Promise<boolean> {
  const { value } = await store.transact(
    (tx) => {
      if (tx.get(LeaseEntity, leaseId) === undefined) return false;
      tx.update(LeaseEntity, leaseId, { expiresAt });
      return true;
    },
    { operation: 'ordo.lease.renew' },
  );
  return value;
}

/** Deletes the lease of a runtime that closes owning nothing, so that peers need not wait for it to expire. */
export async function releaseLease(store: Store, leaseId: string): Promise<void> {
  await store.transact(
    (tx) => {
      if (tx.get(LeaseEntity, leaseId) === undefined) return;
      if (tx.find(OperationEntity, { owner: leaseId }).length > 0) return;
      tx.delete(LeaseEntity, leaseId);
    },
    { operation: 'ordo.lease.release' },
  );
}

export interface TakeoverInput {
  /** The taker's lease. */
  readonly owner: string;
  readonly now: number;
  /** Take over leases of this name whatever their expiry (the taker is their restart). */
  readonly restartOf?: string | undefined;
}

/** The leases a takeover pass should try, from the store's state. */
export function takeoverCandidates(store: Store, input: TakeoverInput): string[] {
  return store
    .list(LeaseEntity)
    .filter((lease) => lease.id !== input.owner && (lease.data.expiresAt < input.now || (input.restartOf !== undefined && lease.data.name === input.restartOf)))
    .map((lease) => lease.id);
}

/**
 * Takes over one silent runtime: in one record its lease is deleted and each of its
 * operations gets the taker as owner and a higher epoch. Reading the lease and the taker's
 * own lease makes the takeover conflict with a renewal of either (I5). Returns the ids of
 * the operations moved (none when the lease was renewed or taken meanwhile).
 */
export async function takeOver(store: Store, leaseId: string, input: TakeoverInput): Promise<string[]> {
  const { value } = await store.transact(
    (tx) => {
      const lease = tx.get(LeaseEntity, leaseId);
      if (lease === undefined) return [];
      const restart = input.restartOf !== undefined && lease.data.name === input.restartOf;
      if (!restart && lease.data.expiresAt >= input.now) return [];
      if (tx.get(LeaseEntity, input.owner) === undefined) throw runtimeFenced(input.owner);
      const operations = tx.find(OperationEntity, { owner: leaseId });
      for (const operation of operations) {
        tx.update(OperationEntity, operation.id, (draft) => {
          draft.owner = input.owner;
          draft.epoch += 1;
          draft.takeovers += 1;
        });
      }
      tx.delete(LeaseEntity, leaseId);
      const moved = operations.map((operation) => operation.id);
      tx.setMeta({ ordo: { type: 'takeover', of: leaseId, by: input.owner, operations: moved } });
      return moved;
    },
    { operation: 'ordo.lease.takeover' },
  );
  return value;
}

export function runtimeFenced(leaseId: string): OperationError {
  return new OperationError({
    code: 'RUNTIME_FENCED',
    message: `this runtime's lease ${leaseId} was taken over by a peer (it did not renew it in time); nothing was written; retry: the runtime registers a new lease`,
    step: 'commit',
    details: { lease: leaseId },
  });
}
