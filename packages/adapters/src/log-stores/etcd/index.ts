/**
 * The etcd log store: the log on a replicated raft cluster that keeps committing while a
 * minority of its members is down. Many processes, on many hosts, share one gapless, strictly
 * serialized log under one key prefix.
 *
 * ```ts
 * import { openStore } from '@ordo/core';
 * import { etcdLog } from '@ordo/adapters/etcd';
 *
 * const store = await openStore({
 *   entities: [Vm, Host],
 *   log: etcdLog({ endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379', 'http://10.0.0.3:2379'], prefix: 'ordo' }),
 * });
 * ```
 *
 * `etcd3` is a peer dependency, loaded when the store first talks to etcd. See the README for
 * the limits and for what the operator must run (compaction, defragmentation, the space quota).
 */
export { etcdLog, type EtcdLocation, type EtcdLogOptions, type EtcdLogStore } from './etcd-log.js';
export type { RelayElection, RelayLeader, RelayOptions } from '../relay/election.js';
export { inspectEtcdLog, readEtcdSnapshot, type EtcdLogInspection } from './etcd-log-inspection.js';
