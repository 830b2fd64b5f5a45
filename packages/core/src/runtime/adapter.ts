import type { Entity } from '../record.js';
import type { EntityChange } from '../state.js';

/**
 * A read-only look at the store's committed state, by kind name, for adapters that do not
 * know the application's entity types. It is the store's latest state: at `position` or,
 * when other writers committed since, after it. Adapters read related entities here (the
 * host of a VM, the container of a volume) instead of remembering them.
 */
export interface StateView {
  /** The position the view was taken at. */
  readonly position: number;
  get(kind: string, id: string): Entity | undefined;
  /** Every entity of the kind, sorted by id. */
  list(kind: string): readonly Entity[];
}

export interface PrepareInput {
  /** The planned changes of this adapter's kinds, not yet written. */
  readonly changes: readonly EntityChange[];
  /** The committed state the plan started from (the planned changes are not in it). */
  readonly view: StateView;
}

export interface ApplyInput {
  /** The committed changes of this adapter's kinds, in the order the transaction made them. */
  readonly changes: readonly EntityChange[];
  /** The committed state, including these changes. */
  readonly view: StateView;
  /** The position of the record that carries the changes. */
  readonly position: number;
  /**
   * The owner's epoch for the operation: 0 for its first owner, raised by every takeover.
   * With `position` it is the fencing token (see `FencingToken`): an adapter that remembers
   * the greatest token it applied to a resource refuses an older one, so a runtime that lost
   * the operation (it was only slow) cannot undo what the new owner did.
   */
  readonly epoch: number;
}

/**
 * Code that makes real infrastructure match entities: a hypervisor for VMs, a storage
 * system for volumes. An adapter keeps no state between calls (I10): what it needs it reads
 * from the changes and the view, so a fresh instance continues where another one stopped.
 *
 * Duties:
 * 1. `prepare` may veto planned changes (capacity, reachability) by throwing; nothing has
 *    been written then. It must not change the infrastructure.
 * 2. `apply` makes the infrastructure match the after-images of `changes`. It must be
 *    idempotent: the runtime applies a change again after a crash, and applies the reverting
 *    changes after a failure, also to an adapter whose apply failed halfway.
 * 3. Fencing: `position` and `epoch` order the applies of every runtime on one log. An
 *    adapter that can keep a token beside a resource should refuse an apply whose token is
 *    older than the resource's (throw an `OperationError` with code `STALE_FENCING_TOKEN`).
 * 4. Errors: throw an `OperationError` with a specific code to name the failure (the runtime
 *    keeps the code and fills in step and adapter); any other error becomes `ADAPTER_FAILED`.
 */
export interface InfrastructureAdapter {
  /** Unique among the runtime's adapters; named in errors and in the log. */
  readonly name: string;
  /** The entity kinds whose changes this adapter receives. */
  readonly kinds: readonly string[];
  prepare?(input: PrepareInput): Promise<void> | void;
  apply(input: ApplyInput): Promise<void> | void;
  /**
   * Makes the whole infrastructure match the view (create what is missing, remove what the
   * log does not know). The runtime calls it when it starts, after taking over what it can.
   * Other runtimes may be applying at the same time: leave alone every resource for which
   * `held(kind, id)` is true (an unsettled operation of a live runtime owns it) and every
   * resource whose applied fencing token is newer than `view.position`. Optional.
   */
  reconcile?(input: ReconcileInput): Promise<void> | void;
}

export interface ReconcileInput {
  /** The committed state reconcile works from. */
  readonly view: StateView;
  /** True for an entity an unsettled operation holds: its owner is applying it; leave it alone. */
  readonly held: (kind: string, id: string) => boolean;
}
