import { describeMultiProcess } from '../postgres/multi-process-suite.js';
import { etcdTarget } from '../postgres/shared-log-target.js';
import { describeWithCluster, uniquePrefix } from './etcd-test-env.js';

// The cases PostgreSQL passes with several processes on one log, on a 3-member etcd cluster.
describeWithCluster('etcd', (cluster) => {
  describeMultiProcess('etcd', (name, body) => body(), { target: (name) => etcdTarget(cluster().endpoints, uniquePrefix(name)) });
  describeMultiProcess('etcd, through the commit relay', (name, body) => body(), {
    target: (name) => etcdTarget(cluster().endpoints, uniquePrefix(`${name}-relay`), { path: 'relay' }),
    relayed: true,
  });
});
