import { LogStoreError } from '@ordo/core';
import { decodeBatch, type BatchPart } from './batch-codec.js';
import type { EtcdConnection } from './etcd-connection.js';
import { describeError } from './etcd-errors.js';
import type { EtcdKeys } from './etcd-keys.js';
import { headValue, storedHead, type StoredHead } from './stored-head.js';

// How many times, and how far apart, to try settling an append whose answer was lost.
const outcomeChecksMax = 5;
const outcomeCheckDelayMs = 200;

export type SettledAppend = { readonly written: boolean; readonly head: StoredHead };

/**
 * Settles an append whose answer never came (a deadline, a broken connection, a leader change):
 * etcd may have applied its transaction, may apply it later, or never. A fence decides: one more
 * transaction with the same compare (the head's revision the lost one expected) that rewrites
 * the head with its current value. If the fence applies, the head's revision moved, so the lost
 * transaction, whenever a copy of it arrives, fails its compare: not written, for good. If the
 * fence fails its compare, the head moved since: the batch key at `part.first` tells whether it
 * was our batch (its first record carries our txId) or another writer's. While etcd stays
 * unreachable the outcome stays unknown (LogStoreError saying so); the next append is still safe,
 * because it compares the head's revision and fails if the lost batch went in after all.
 */
export async function settleLostAppend(input: {
  connection: EtcdConnection;
  keys: EtcdKeys;
  part: BatchPart;
  firstTxId: string;
  expected: StoredHead;
  cause: unknown;
}): Promise<SettledAppend> {
  let lastError: unknown = input.cause;
  for (let check = 1; check <= outcomeChecksMax; check += 1) {
    try {
      return await fence(input);
    } catch (error) {
      if (error instanceof LogStoreError) throw error;
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, outcomeCheckDelayMs * check));
    }
  }
  throw new LogStoreError({
    store: 'etcd',
    message: `append of positions ${rangeOf(input.part)} lost its answer and the outcome is unknown: ${describeError(lastError)}`,
    cause: lastError,
  });
}

async function fence(input: { connection: EtcdConnection; keys: EtcdKeys; part: BatchPart; firstTxId: string; expected: StoredHead }): Promise<SettledAppend> {
  const { keys, part, expected } = input;
  const batchKey = keys.log(part.first);
  const response = await input.connection.txn({
    compare: [{ key: keys.head, target: 'Mod', result: 'Equal', mod_revision: expected.revision }],
    // The same position; the writer's turn ends with the fence.
    success: [{ request_put: { key: keys.head, value: headValue(expected.position, undefined) } }],
    failure: [{ request_range: { key: keys.head } }, { request_range: { key: batchKey } }],
  });
  if (response.succeeded) {
    return { written: false, head: { position: expected.position, revision: Number(response.header.revision) } };
  }
  const head = storedHead(keys.head.toString(), response.responses[0]?.response_range.kvs[0]);
  const stored = response.responses[1]?.response_range.kvs[0];
  if (stored === undefined) return { written: false, head };
  const records = decodeBatch(batchKey.toString(), part.first, stored.value);
  const written = records[0]?.txId === input.firstTxId && records.length === part.count;
  return { written, head };
}

export function rangeOf(part: { readonly first: number; readonly count: number }): string {
  return `${part.first}..${part.first + part.count - 1}`;
}
