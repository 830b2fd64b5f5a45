import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { EtcdCluster, type EtcdClusterOptions } from './etcd-cluster.js';

/**
 * The one place that decides whether etcd tests run: they need the `etcd` binary (Debian's
 * etcd-server). Without it they are skipped with a loud message, unless ORDO_ETCD_REQUIRED=1
 * (CI), where a missing etcd fails the run instead.
 */
const required = process.env.ORDO_ETCD_REQUIRED === '1';
const probe = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
const missing = probe.status === 0 ? undefined : (probe.error?.message ?? probe.stderr);

export function describeEtcd(name: string, body: () => void): void {
  if (missing === undefined) {
    describe(name, body);
    return;
  }
  const message = `etcd is not installed (${missing}); apt-get install etcd-server etcd-client`;
  if (required) {
    describe(name, () => {
      it('needs etcd (ORDO_ETCD_REQUIRED=1)', () => {
        throw new Error(`${message}; ORDO_ETCD_REQUIRED=1 makes this a failure`);
      });
    });
    return;
  }
  process.stderr.write(`\n!!! SKIPPING ${name}: ${message}. !!!\n\n`);
  describe.skip(name, body);
}

let prefixCounter = 0;

/** A key prefix no other test case or run uses. */
export function uniquePrefix(name: string): string {
  prefixCounter += 1;
  return `t/${name}/${process.pid}-${Math.random().toString(36).slice(2, 8)}-${prefixCounter}`;
}

/**
 * `describeEtcd` with a 3-member cluster of its own, started before the first case and stopped
 * (by pid, data removed) after the last, whatever happened in between. `cluster()` returns it.
 */
export function describeWithCluster(name: string, body: (cluster: () => EtcdCluster) => void, options: EtcdClusterOptions = {}): void {
  describeEtcd(name, () => {
    let started: EtcdCluster | undefined;
    beforeAll(async () => {
      started = await EtcdCluster.start(options);
    }, 90_000);
    afterAll(async () => {
      await started?.stop();
    });
    body(() => {
      if (started === undefined) throw new Error('the etcd cluster did not start');
      return started;
    });
  });
}
