import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { etcdLog } from '@ordo/adapters/etcd';
import { records } from '../conformance/log-store-conformance.js';
import { netnsAvailable, type EtcdCluster } from '../etcd/etcd-cluster.js';
import { describeWithCluster, uniquePrefix } from '../etcd/etcd-test-env.js';
import { runWithChildren } from './child-run.js';
import { expectCleanChildRun } from './child-run-verdict.js';
import { RunSummary } from './run-summary.js';

/**
 * One member of the 3-member cluster runs in a network namespace of its own, joined by a veth
 * pair; a partition takes that link down. The store must neither serve a stale head from the
 * cut-off member nor lose or reorder anything while the other two go on committing.
 */
const summary = new RunSummary('etcd log, a member partitioned in its own network namespace');
afterAll(() => console.log(summary.line()));

const isolated = 2;
const netns = netnsAvailable();
if (!netns.ok) {
  process.stderr.write(`\n!!! SKIPPING the etcd partition tests: ip netns add is not permitted here (${netns.reason}). Run as root with CAP_NET_ADMIN to run them. !!!\n\n`);
}

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const probeScript = fileURLToPath(new URL('../etcd/head-probe.ts', import.meta.url));

/** One head() from a process inside the isolated member's namespace, talking to that member only. */
async function probeHead(cluster: EtcdCluster, prefix: string): Promise<unknown> {
  const args = ['netns', 'exec', cluster.namespace!, process.execPath, '--conditions=@ordo/source', '--import', 'tsx', probeScript];
  const { stdout } = await run('ip', [...args, cluster.endpoints[isolated]!, prefix, '2000']);
  return JSON.parse(stdout) as unknown;
}

/** Waits until a member other than the cut-off one reports itself leader (at most 20 s). */
async function majorityLeader(cluster: EtcdCluster): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const leader = await cluster.leader().catch(() => -1);
    if (leader !== -1 && leader !== isolated) return;
    if (Date.now() > deadline) throw new Error('the majority elected no leader within 20 s');
    await sleep(200);
  }
}

const title = 'etcd log: a member partitioned by taking its link down';

function partitionCases(cluster: () => EtcdCluster): void {
  it('a client beside the cut-off member gets an error, never the old head; the majority goes on', async () => {
    const prefix = uniquePrefix('partition-read');
    const majority = etcdLog({ endpoints: cluster().endpoints.filter((_, index) => index !== isolated), prefix });
    try {
      await majority.open();
      await majority.append(records(1, 3));
      expect(await probeHead(cluster(), prefix)).toEqual({ head: 3 });
      cluster().partition();
      // When the cut-off member led, the other two elect a new leader first (an election
      // timeout, longer on a loaded machine): an append before that fails, as it should.
      await majorityLeader(cluster());
      await majority.append(records(4, 2));
      // Inside the namespace the member is still reachable, and it still holds head 3: a
      // serializable read would return it. A linearizable one cannot be served without a quorum.
      expect(await probeHead(cluster(), prefix)).toEqual({ error: 'LOG_STORE_FAILED' });
      cluster().heal();
      await cluster().waitHealthy(isolated);
      expect(await probeHead(cluster(), prefix)).toEqual({ head: 5 });
    } finally {
      cluster().heal();
      await majority.close();
    }
  });

  it('seed 441: partitions during a run of three store processes, strictly serializable and linearizable', async () => {
    const prefix = uniquePrefix('sim-partition');
    let faults = 0;
    let running: Promise<void> | undefined;
    const partitionOnce = async (): Promise<void> => {
      cluster().partition();
      await sleep(1_500);
      cluster().heal();
      await cluster().waitHealthy(isolated);
    };
    const result = await runWithChildren({
      seed: 441,
      serverArgs: ['etcd', cluster().endpoints.join(','), prefix],
      children: 3,
      clients: 9,
      kills: 0,
      killIntervalMs: [6_000, 6_000],
      registers: 3,
      registerChance: 0.3,
      generator: { keys: 5, opsPerTxnMax: 4, appendsPerKeyMax: 40, readOnlyChance: 0.2 },
      disturb: {
        intervalMs: [500, 800],
        act: () => {
          if (running !== undefined) return;
          faults += 1;
          running = partitionOnce().finally(() => (running = undefined));
        },
      },
    });
    await running;
    cluster().heal();
    expectCleanChildRun(result, summary, `seed 441, partitions; prefix ${prefix}`);
    // A partition and the wait for the member to heal take seconds on a loaded machine: one at least.
    expect(faults).toBeGreaterThanOrEqual(1);
    expect(result.list.opsChecked).toBeGreaterThan(50);
  }, 150_000);
}

if (netns.ok) describeWithCluster(title, partitionCases, { isolated });
else describe.skip(title, () => it('needs ip netns add (root with CAP_NET_ADMIN)', () => undefined));
