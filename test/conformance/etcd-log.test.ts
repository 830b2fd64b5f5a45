import { afterAll, beforeAll } from 'vitest';
import type { LogStore } from '@ordo/core';
import { etcdLog } from '@ordo/adapters/etcd';
import { describeLogStoreConformance } from './log-store-conformance.js';
import { EtcdCluster } from '../etcd/etcd-cluster.js';
import { describeEtcd, uniquePrefix } from '../etcd/etcd-test-env.js';

// One 3-member cluster for the file; each fresh() gets its own prefix, so every case starts
// from an empty log.
let cluster: EtcdCluster | undefined;
let prefix = '';

describeEtcd('etcd log store', () => {
  beforeAll(async () => {
    cluster = await EtcdCluster.start();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  describeLogStoreConformance('etcd', {
    fresh: async (): Promise<LogStore> => {
      prefix = uniquePrefix('conformance');
      return etcdLog({ endpoints: cluster!.endpoints, prefix });
    },
    reopen: async (): Promise<LogStore> => etcdLog({ endpoints: cluster!.endpoints, prefix }),
    pruning: async (): Promise<LogStore> => {
      prefix = uniquePrefix('conformance-pruning');
      return etcdLog({ endpoints: cluster!.endpoints, prefix, pruneBehindSnapshots: true });
    },
  });
});
