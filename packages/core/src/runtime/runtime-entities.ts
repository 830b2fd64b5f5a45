import { z } from 'zod';
import { defineEntity, type EntityType } from '../entity-type.js';
import { deepFreeze } from '../freeze.js';
import type { JsonObject } from '../record.js';

/**
 * The runtime's own entities. They live in the log like the application's, so that
 * ownership is decided from the log alone and every read of them is in a transaction's read
 * set (I5): a write that depends on who owns an operation conflicts with the takeover that
 * changed it. Every store registers them (their kinds start with `ordo.`).
 *
 * - `ordo.lease`: one per live runtime (its id is the runtime's id). The runtime renews it
 *   before `expiresAt`; a peer whose clock is past `expiresAt` may take it over, which
 *   deletes it and moves its operations to the taker in one record.
 * - `ordo.operation`: one per unsettled operation (its id is the operation's requestId).
 *   It names the owner runtime and the epoch (raised by every takeover: with the record's
 *   position it is the fencing token adapters get), and keeps what settling needs: the
 *   changes to apply, and in phase 'revert' the reverting changes.
 * - `ordo.hold`: one per entity an unsettled operation writes (id `kind/id`), so that a
 *   plan that writes a held entity finds out in its own transaction.
 */
export const LeaseEntity = defineEntity(
  'ordo.lease',
  z.object({
    /** The runtime's `name` option: a runtime that starts with the name of a lease is its restart. */
    name: z.string().optional(),
    /** Milliseconds since the epoch, by the holder's clock, after which peers may take over. */
    expiresAt: z.number(),
  }),
  { index: ['name'] },
);

export const OperationEntity = defineEntity(
  'ordo.operation',
  z.object({
    name: z.string(),
    /** The id of the owner's lease. */
    owner: z.string(),
    epoch: z.number().int().nonnegative(),
    takeovers: z.number().int().nonnegative(),
    /** The adapters that apply `changes`, in order. */
    adapters: z.array(z.string()),
    /** The committed changes as `EntityChange` values (JSON). */
    changes: z.array(z.unknown()),
    phase: z.enum(['apply', 'revert']),
    /** Phase 'revert': the adapters that apply the reverting changes, and those changes. */
    revertAdapters: z.array(z.string()).optional(),
    revertChanges: z.array(z.unknown()).optional(),
    /** Phase 'revert': the error the operation failed with (OperationError JSON). */
    error: z.record(z.string(), z.unknown()).optional(),
  }),
  { index: ['owner'] },
);

export const HoldEntity = defineEntity('ordo.hold', z.object({ operation: z.string() }));

export const runtimeEntityTypes = Object.freeze([LeaseEntity, OperationEntity, HoldEntity]);

/**
 * `type` for writes of data that the runtime builds itself from values the store made already
 * (strings, counters, and `EntityChange` values whose entities are frozen, schema-checked JSON):
 * the same kind, schema and indexes, but `parse` only freezes what is not frozen yet instead of
 * running the schema and normalizing every nested entity again. Only for such data: anything
 * else (an adapter's error, a caller's value) goes through the registered type.
 */
function builtBy<Type extends EntityType>(type: Type): Type {
  return Object.freeze({ ...type, parse: (data: unknown) => deepFreeze(data as JsonObject) });
}

/** The `ordo.operation` type for the entity `claim` builds (name, lease id, zero counters, adapter names, the plan's changes). */
export const BuiltOperationEntity = builtBy(OperationEntity);
/** The `ordo.hold` type for a hold (`{ operation: requestId }`). */
export const BuiltHoldEntity = builtBy(HoldEntity);

export function holdId(kind: string, id: string): string {
  return `${kind}/${id}`;
}

/** Kinds of the runtime's own entities: never held, never shown to adapters. */
export function isRuntimeKind(kind: string): boolean {
  return kind.startsWith('ordo.');
}
