import { z } from 'zod';
import { defineEntity, type Store } from '@ordo/core';

// The workloads every store's benchmark shares, so that their figures compare like with like.

export const Item = defineEntity('item', z.object({ name: z.string(), value: z.number().int() }));

/** Items that `update` and `multi` pick from. */
export const itemsForUpdates = 10_000;
const seedBatchMax = 10_000;
let created = 0;

/** Creates `count` items in transactions of up to 10,000 creates; returns their ids. */
export async function seedItems(store: Store, count = itemsForUpdates, batch = seedBatchMax): Promise<string[]> {
  const ids: string[] = [];
  for (let done = 0; done < count; done += batch) {
    const { value } = await store.transact((tx) =>
      Array.from({ length: Math.min(batch, count - done) }, (_, index) => tx.create(Item, { name: `seed-${done + index}`, value: 0 }).id),
    );
    ids.push(...value);
  }
  return ids;
}

export function randomOf(ids: readonly string[]): string {
  return ids[Math.floor(Math.random() * ids.length)] as string;
}

/** `create`: one transaction that creates one item. */
export function createItem(store: Store): Promise<unknown> {
  return store.transact((tx) => tx.create(Item, { name: `n${created++}`, value: 1 }));
}

/** `update`: read-modify-write of a random item among `ids`. */
export function updateRandomItem(store: Store, ids: readonly string[]): Promise<unknown> {
  return store.transact((tx) => tx.update(Item, randomOf(ids), (draft) => void (draft.value += 1)), { retries: 100 });
}

/** `multi`: one transaction that reads one random item and writes three. */
export function readOneWriteThree(store: Store, ids: readonly string[]): Promise<unknown> {
  return store.transact(
    (tx) => {
      const source = tx.require(Item, randomOf(ids));
      for (let write = 0; write < 3; write += 1) tx.update(Item, randomOf(ids), { value: source.data.value + write });
    },
    { retries: 100 },
  );
}
