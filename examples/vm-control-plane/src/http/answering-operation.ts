import { defineOperation, VersionMismatchError, type Entity, type JsonValue, type Operation } from '@ordo/core';
import type { OperationRoute } from './operation-routes.js';

/** What a call's plan returns and the log keeps with its requestId: a replay answers with it as it was. */
export interface Answer {
  readonly entity: Entity | null;
  readonly deleted?: { readonly kind: string; readonly id: string };
  readonly result: JsonValue | null;
}

/**
 * The route's operation, under the same name, with two additions to its plan: the `If-Match`
 * check (inside the transaction, so a concurrent change reruns it: the version compared is
 * the one committed over), and the entity as planned in its value. Keeping the entity in the
 * value puts it in the log with the requestId, so a retry gets the first response byte for
 * byte, also after a restart, however the entity changed since.
 */
export function answeringOperation(route: OperationRoute, target: { id?: string; expectedVersion?: number }): Operation {
  const inner = route.operation;
  return defineOperation({
    name: inner.name,
    input: inner.input,
    async plan(tx, input): Promise<JsonValue> {
      if (target.id !== undefined && target.expectedVersion !== undefined) {
        const current = tx.get(route.type, target.id);
        // A missing entity is left to the plan, whose own code (VM_NOT_FOUND...) says more.
        if (current !== undefined && current.version !== target.expectedVersion) {
          throw new VersionMismatchError({ kind: route.type.kind, id: target.id, expected: target.expectedVersion, actual: current.version });
        }
      }
      const value = (await inner.plan(tx, input)) ?? null;
      const id = target.id ?? route.createdId?.(value);
      const entity = id === undefined ? undefined : tx.get(route.type, id);
      const answer = {
        entity: entity === undefined ? null : { kind: entity.kind, id: entity.id, version: entity.version, data: entity.data },
        ...(route.deletes === true && id !== undefined ? { deleted: { kind: route.type.kind, id } } : {}),
        result: value,
      };
      return answer as unknown as JsonValue;
    },
  });
}
