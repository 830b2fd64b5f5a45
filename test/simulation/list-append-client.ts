import { defineEntity, type Store } from '@ordo/core';
import { z } from 'zod';
import type { MicroOp } from '../history/list-append.js';

/** Each list-append key is one entity of this kind; its id is the key. */
export const ListEntity = defineEntity('list', z.object({ items: z.array(z.number()) }));

/** Runs one list-append transaction and returns its micro-ops with the reads filled in. */
export interface ListAppendClient {
  execute(store: Store, ops: readonly MicroOp[], pause: () => Promise<void>): Promise<MicroOp[]>;
}

/** The honest client: every read and append inside one Ordo transaction. */
export const ordoListClient: ListAppendClient = {
  async execute(store, ops, pause) {
    const { value } = await store.transact(async (tx) => {
      const out: MicroOp[] = [];
      for (const op of ops) {
        // A pause between steps lets other transactions commit meanwhile (OCC conflicts).
        await pause();
        const current = tx.get(ListEntity, op.key);
        if (op.f === 'read') {
          out.push({ f: 'read', key: op.key, value: [...(current?.data.items ?? [])] });
        } else if (current === undefined) {
          tx.create(ListEntity, { items: [op.value] }, { id: op.key });
          out.push(op);
        } else {
          tx.update(ListEntity, op.key, (draft) => {
            draft.items.push(op.value);
          });
          out.push(op);
        }
      }
      return out;
    });
    return value;
  },
};

/**
 * BROKEN ON PURPOSE (test folder only): reads the lists outside the transaction, from the
 * store's committed state, so no read reaches a read set and nothing is validated; the
 * transaction then writes whole lists computed from those unvalidated reads (lost updates).
 */
export const unvalidatedReadsClient: ListAppendClient = {
  async execute(store, ops, pause) {
    const lists = new Map<string, number[]>();
    const out: MicroOp[] = [];
    for (const op of ops) {
      await pause();
      const items = lists.get(op.key) ?? [...(store.get(ListEntity, op.key)?.data.items ?? [])];
      if (op.f === 'append') items.push(op.value);
      lists.set(op.key, items);
      out.push(op.f === 'read' ? { f: 'read', key: op.key, value: [...items] } : op);
    }
    await pause();
    await store.transact((tx) => {
      for (const [key, items] of lists) {
        if (!ops.some((op) => op.f === 'append' && op.key === key)) continue;
        if (store.get(ListEntity, key) === undefined) tx.create(ListEntity, { items }, { id: key });
        else tx.update(ListEntity, key, { items });
      }
    });
    return out;
  },
};
