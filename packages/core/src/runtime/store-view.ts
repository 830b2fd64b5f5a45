import type { Entity } from '../record.js';
import type { Store } from '../store.js';
import type { StateView } from './adapter.js';

/** A view of the store's latest committed state by kind name, for adapters (see `StateView`). */
export function storeView(store: Store): StateView {
  const position = store.position;
  return Object.freeze({
    position,
    // Entities in the state passed their schema, so their data is JSON.
    get(kind: string, id: string): Entity | undefined {
      const type = store.entityType(kind);
      return type === undefined ? undefined : (store.get(type, id) as Entity | undefined);
    },
    list(kind: string): readonly Entity[] {
      const type = store.entityType(kind);
      return type === undefined ? [] : (store.list(type) as Entity[]);
    },
  });
}
