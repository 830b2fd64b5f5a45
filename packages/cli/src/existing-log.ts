import type { LogStore } from '@ordo/core';

/**
 * `log`, whose `open` first runs `mustExist`: opening a PostgreSQL or etcd log for a command
 * that only reads must refuse a schema or prefix that holds no log, rather than show it as an
 * empty one (and, on PostgreSQL, create its tables behind a typo).
 */
export function existingLog(log: LogStore, mustExist: () => Promise<void>): LogStore {
  return {
    name: log.name,
    multiWriter: log.multiWriter,
    open: async () => {
      try {
        await mustExist();
      } catch (error) {
        await log.close();
        throw error;
      }
      return log.open();
    },
    append: (records) => log.append(records),
    read: (from, limit) => log.read(from, limit),
    head: () => log.head(),
    subscribe: (listener) => log.subscribe(listener),
    close: () => log.close(),
  };
}
