import type { EntityType } from './entity-type.js';
import { InvalidArgumentError } from './errors.js';
import type { KindState } from './kind-state.js';
import type { Transaction } from './transaction.js';

/** Entities one `migrate` record rewrites, unless the call says otherwise. */
export const migrateBatchEntitiesDefault = 500;
/** The most entities one `migrate` record may rewrite: a record is one append and one fold. */
export const migrateBatchEntitiesMax = 10_000;

export interface MigrateOptions {
  /** Entities rewritten per record (1..migrateBatchEntitiesMax). Default: migrateBatchEntitiesDefault. */
  readonly batchEntities?: number;
}

/** What `migrateEntities` needs of a store. */
export interface MigrateTarget {
  transact<Value>(fn: (tx: Transaction) => Value): Promise<{ readonly value: Value }>;
  sync(): Promise<void>;
}

/**
 * Rewrites every entity of `type` whose stored data is at an older schema version than the
 * type's as ordinary updates at the current version, `batchEntities` per record. Resumable: a
 * run that stops half-way leaves whole records, and the next run rewrites what is still old.
 * The candidates are taken once at the start, so a run ends even while another process keeps
 * writing the old version; entities that changed meanwhile are skipped if no longer old.
 */
export async function migrateEntities(target: MigrateTarget, kindState: KindState, type: EntityType, options: MigrateOptions): Promise<number> {
  const batchEntities = options.batchEntities ?? migrateBatchEntitiesDefault;
  if (!Number.isSafeInteger(batchEntities) || batchEntities < 1 || batchEntities > migrateBatchEntitiesMax) {
    throw new InvalidArgumentError('batchEntities', `must be an integer from 1 to ${migrateBatchEntitiesMax}`);
  }
  if (type.writeVersion !== type.version) {
    throw new InvalidArgumentError('type', `${type.kind} writes version ${type.writeVersion}, not its own ${type.version}: migrate would rewrite nothing`);
  }
  await target.sync();
  const candidates = [...kindState.storedVersions.keys()];
  let rewritten = 0;
  for (let first = 0; first < candidates.length; first += batchEntities) {
    const ids = candidates.slice(first, first + batchEntities);
    // The value is the count of the run that committed (a conflict reruns the function).
    const { value } = await target.transact((tx) => {
      let count = 0;
      for (const id of ids) {
        // Read through the transaction, so that a concurrent change of the entity conflicts.
        if (tx.get(type, id) === undefined || !kindState.storedVersions.has(id)) continue;
        tx.update(type, id, {});
        count += 1;
      }
      return count;
    });
    rewritten += value;
  }
  return rewritten;
}
