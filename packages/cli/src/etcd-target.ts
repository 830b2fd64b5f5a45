import { etcdLog, inspectEtcdLog, readEtcdSnapshot, type EtcdLocation } from '@ordo/adapters/etcd';
import { LogStoreError, type LogStore } from '@ordo/core';
import { TargetNotEmptyError } from './cli-errors.js';
import { existingLog } from './existing-log.js';
import type { LogInspection, LogTarget, NewLog, SnapshotEntry } from './log-target.js';

/** An etcd log (`etcd://host:port,host:port/PREFIX`); `etcd3` is loaded only when it is used. */
export function etcdTarget(input: { location: EtcdLocation; shown: string }): LogTarget {
  const { location, shown } = input;
  const prefix = location.prefix ?? 'ordo';
  return {
    shown,
    openLog: ({ writable }) =>
      writable
        ? etcdLog(location)
        : existingLog(etcdLog(location), async () => {
            if (!(await inspectEtcdLog(location)).exists) {
              throw new LogStoreError({ store: 'etcd', message: `${shown} holds no Ordo log (no head key under the prefix)`, outcome: 'not-written' });
            }
          }),
    inspect: async () => describeLog(await inspectEtcdLog(location), prefix),
    readSnapshot: async (entry: SnapshotEntry) => {
      const snapshot = await readEtcdSnapshot({ ...location, position: entry.position });
      if (snapshot === undefined) throw new LogStoreError({ store: 'etcd', message: `snapshot ${entry.position} under ${prefix} vanished while it was read` });
      return snapshot;
    },
    createLog: async (): Promise<NewLog> => {
      const found = await inspectEtcdLog(location);
      if (found.exists) throw new TargetNotEmptyError({ target: shown, holds: `${found.records} records, ${found.snapshots.length} snapshots` });
      const log: LogStore = etcdLog(location);
      // Batches become visible one by one, as on PostgreSQL: a killed import leaves a prefix,
      // which the next import refuses (not empty).
      return { log, readBack: () => etcdLog(location), publish: () => log.close(), discard: () => log.close() };
    },
    close: async () => undefined,
  };
}

function describeLog(found: Awaited<ReturnType<typeof inspectEtcdLog>>, prefix: string): LogInspection {
  return {
    firstPosition: found.records > 0 ? found.firstPosition : undefined,
    parts: found.exists ? [{ name: `${prefix}/log/ (${found.batches} batches)`, firstPosition: found.records > 0 ? found.firstPosition : undefined, bytes: found.batchBytes }] : [],
    snapshots: found.snapshots.map((snapshot) => ({ ...snapshot, where: `${prefix}/snapshot/${snapshot.position}` })),
  };
}
