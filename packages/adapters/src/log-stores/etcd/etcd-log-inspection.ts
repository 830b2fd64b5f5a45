import { LogCorruptError, type Snapshot } from '@ordo/core';
import type { EtcdConnection } from './etcd-connection.js';
import { connectLocation, type EtcdLocation } from './etcd-log.js';
import { SnapshotStore } from './snapshot-store.js';
import { storedHead } from './stored-head.js';

export interface EtcdLogInspection {
  /** False when nothing of a log is under the prefix (no head, no snapshot). */
  readonly exists: boolean;
  /** The first position still kept (1 unless batches were pruned) and the head; 0 and 0 for an empty log. */
  readonly firstPosition: number;
  readonly head: number;
  readonly records: number;
  /** Batch keys (one per group commit) and the bytes of their values. */
  readonly batches: number;
  readonly batchBytes: number;
  readonly snapshots: readonly { readonly position: number; readonly bytes: number }[];
}

// Batch keys read per call while adding up their bytes (each value at most ~1.4 MiB).
const batchesPerPage = 32;

/**
 * Facts about an etcd log for tools such as `ordo info`, read without opening the log: only
 * linearizable range reads, nothing is written. It opens a connection of its own and closes it.
 */
export async function inspectEtcdLog(location: EtcdLocation): Promise<EtcdLogInspection> {
  return withConnection(location, async (connection, keys) => {
    const summary = await connection.txn({
      success: [{ request_range: { key: keys.head } }, { request_range: { key: keys.pruned } }],
    });
    const [headRange, prunedRange] = summary.responses.map((response) => response.response_range);
    const head = storedHead(keys.head.toString(), headRange!.kvs[0]);
    const pruned = prunedRange!.kvs[0];
    const firstKept = pruned === undefined ? 1 : Number(pruned.value.toString());
    if (!Number.isSafeInteger(firstKept) || firstKept < 1) {
      throw new LogCorruptError({ store: 'etcd', location: keys.pruned.toString(), reason: `first kept position ${pruned!.value.toString()} is not a position` });
    }
    let batches = 0;
    let batchBytes = 0;
    for (let from: Buffer = keys.logStart; ; ) {
      const page = await connection.range({ key: from, range_end: keys.logEnd, limit: batchesPerPage, sort_order: 'Ascend', sort_target: 'Key' });
      for (const kv of page.kvs) {
        batches += 1;
        batchBytes += kv.value.length;
      }
      if (!page.more || page.kvs.length === 0) break;
      from = Buffer.concat([page.kvs[page.kvs.length - 1]!.key, Buffer.from([0])]);
    }
    const snapshots = [...(await new SnapshotStore(connection, keys, Number.MAX_SAFE_INTEGER).list())].reverse();
    const empty = head.position === 0;
    return {
      exists: head.revision > 0 || snapshots.length > 0,
      firstPosition: empty ? 0 : firstKept,
      head: head.position,
      records: empty ? 0 : head.position - firstKept + 1,
      batches,
      batchBytes,
      snapshots,
    };
  });
}

/** Reads one stored snapshot (undefined when none is at `position`); damage is a `LogCorruptError` naming its key. */
export async function readEtcdSnapshot(input: EtcdLocation & { readonly position: number }): Promise<Snapshot | undefined> {
  return withConnection(input, (connection, keys) => new SnapshotStore(connection, keys, Number.MAX_SAFE_INTEGER).read(input.position));
}

async function withConnection<T>(location: EtcdLocation, run: (connection: EtcdConnection, keys: ReturnType<typeof connectLocation>['keys']) => Promise<T>): Promise<T> {
  const { connection, keys } = connectLocation(location);
  try {
    return await run(connection, keys);
  } finally {
    connection.close();
  }
}
