import { describeRealTime } from '../postgres/real-time-suite.js';
import { etcdTarget } from '../postgres/shared-log-target.js';
import { describeWithCluster, uniquePrefix } from './etcd-test-env.js';

describeWithCluster('etcd', (cluster) => {
  describeRealTime('etcd', (name, body) => body(), () => etcdTarget(cluster().endpoints, uniquePrefix('realtime')));
  describeRealTime('etcd, through the commit relay', (name, body) => body(), () => etcdTarget(cluster().endpoints, uniquePrefix('realtime-relay'), { path: 'relay' }));
});
