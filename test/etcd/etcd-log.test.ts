import { spawnSync } from 'node:child_process';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isOrdoError, LogStoreError, RecordTooLargeError, type LogStore } from '@ordo/core';
import { etcdLog } from '@ordo/adapters/etcd';
import { record, records } from '../conformance/log-store-conformance.js';
import { TcpProxy } from '../postgres/tcp-proxy.js';
import { EtcdCluster } from './etcd-cluster.js';
import { describeEtcd, uniquePrefix } from './etcd-test-env.js';

let cluster: EtcdCluster | undefined;
let admin: Etcd3 | undefined;
const opened: LogStore[] = [];

async function fresh(options: { prefix?: string; batchBytesMax?: number; pruneBehindSnapshots?: boolean; endpoints?: string[]; headPollMs?: number } = {}): Promise<LogStore> {
  const log = etcdLog({ endpoints: options.endpoints ?? cluster!.endpoints, prefix: options.prefix ?? uniquePrefix('store'), ...options });
  opened.push(log);
  await log.open();
  return log;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

function blobRecord(position: number, bytes: number): ReturnType<typeof record> {
  return record(position, { changes: [{ op: 'create', kind: 'blob', id: `b-${position}`, version: 1, data: { blob: 'y'.repeat(bytes) } }] });
}

describeEtcd('etcd log store: limits, pruning, damage and lost answers', () => {
  beforeAll(async () => {
    cluster = await EtcdCluster.start();
    admin = new Etcd3({ hosts: cluster.endpoints });
  });
  afterAll(async () => {
    for (const log of opened) await log.close();
    admin?.close();
    await cluster?.stop();
  });

  it('refuses a record too large for one request with a typed error, and writes nothing of its batch', async () => {
    const log = await fresh();
    await log.append(records(1, 2));
    const error = await failure(log.append([record(3), blobRecord(4, 2 * 1024 * 1024)]));
    expect(error).toBeInstanceOf(RecordTooLargeError);
    expect(isOrdoError(error, 'RECORD_TOO_LARGE')).toBe(true);
    expect((error as RecordTooLargeError).store).toBe('etcd');
    expect((error as RecordTooLargeError).position).toBe(4);
    expect(String((error as Error).message)).toMatch(/etcd log store: record 4 encodes to more than \d+ bytes/);
    expect(await log.head()).toBe(2);
    expect(await log.read(1, 10)).toEqual(records(1, 2));
    await log.append([record(3)]);
    expect(await log.head()).toBe(3);
  });

  it('maps etcd refusing a request as too large to not-written, when batchBytesMax is set above the server limit', async () => {
    const log = await fresh({ batchBytesMax: 4 * 1024 * 1024 });
    const error = await failure(log.append([blobRecord(1, 1.6 * 1024 * 1024)]));
    expect(error).toBeInstanceOf(LogStoreError);
    expect((error as LogStoreError).outcome).toBe('not-written');
    expect(String((error as Error).message)).toMatch(/too large/);
    expect(await log.head()).toBe(0);
    expect(await log.read(1, 10)).toEqual([]);
  });

  it('writes a batch larger than one request as consecutive parts and reads it back whole', async () => {
    const prefix = uniquePrefix('parts');
    const log = await fresh({ prefix, batchBytesMax: 64 * 1024 });
    const batch = Array.from({ length: 12 }, (_, index) => blobRecord(index + 1, 20 * 1024));
    await log.append(batch);
    expect(await log.head()).toBe(12);
    const keys = await admin!.getAll().prefix(`${prefix}/log/`).keys();
    expect(keys.length).toBeGreaterThanOrEqual(4);
    expect(await log.read(1, 100)).toEqual(batch);
    expect(await log.read(7, 3)).toEqual(batch.slice(6, 9));
  });

  it('prunes batches behind the oldest kept snapshot: HISTORY_UNAVAILABLE below, whole reads above', async () => {
    const prefix = uniquePrefix('prune');
    const log = await fresh({ prefix, pruneBehindSnapshots: true });
    for (let first = 1; first <= 30; first += 5) await log.append(records(first, 5));
    const snapshot = (position: number) => ({ format: 1 as const, position, entities: [], requests: [] });
    await log.writeSnapshot!(snapshot(12));
    // The batch holding 12 starts at 11: it stays, everything before it goes.
    const below = await failure(log.read(3, 5));
    expect(isOrdoError(below, 'HISTORY_UNAVAILABLE'), String(below)).toBe(true);
    expect((below as { firstAvailable: number }).firstAvailable).toBe(11);
    expect(await log.read(11, 100)).toEqual(records(11, 20));
    await log.writeSnapshot!(snapshot(23));
    expect(await log.read(11, 3)).toEqual(records(11, 3)); // 12 is still the oldest kept
    await log.writeSnapshot!(snapshot(28));
    const older = await failure(log.read(15, 1));
    expect(isOrdoError(older, 'HISTORY_UNAVAILABLE'), String(older)).toBe(true);
    expect(await log.read(21, 100)).toEqual(records(21, 10));
    const again = await fresh({ prefix });
    expect((await again.open()).snapshot).toEqual(snapshot(28));
    expect(await again.read(29, 100)).toEqual(records(29, 2));
  });

  it('refuses a log with a hole with LOG_CORRUPT, naming the missing position', async () => {
    const prefix = uniquePrefix('hole');
    const log = await fresh({ prefix });
    await log.append(records(1, 3));
    await log.append(records(4, 3));
    await log.append(records(7, 3));
    await admin!.delete().key(`${prefix}/log/${String(4).padStart(16, '0')}`);
    const error = await failure(log.read(1, 100));
    expect(isOrdoError(error, 'LOG_CORRUPT'), String(error)).toBe(true);
    expect(String((error as Error).message)).toMatch(/position 4 is missing/);
    const inside = await failure(log.read(5, 1));
    expect(isOrdoError(inside, 'LOG_CORRUPT'), String(inside)).toBe(true);
  });

  // These two also show that the etcd3 client's own retries are off: with them on, it sends the
  // transaction again after the cut, and the copy fails its compare (LOG_HEAD_MOVED) or goes in.
  it('settles an append whose answer was lost: written, and the next append goes on', async () => {
    const proxies = await Promise.all(cluster!.members.map((member) => TcpProxy.start('127.0.0.1', Number(new URL(member.clientUrl).port))));
    try {
      // One member only: its connection is up after the first append, so the transaction of
      // the second is certainly sent (to a member not connected yet it would not be, and the
      // store rightly settles that as not written).
      const log = await fresh({ endpoints: [`127.0.0.1:${proxies[0]!.port}`] });
      await log.append(records(1, 2));
      const started = Date.now();
      const appended = log.append(records(3, 2));
      // The transaction arrives and commits; its answer is dropped, then the connection is cut.
      await Promise.all(proxies.map((proxy) => proxy.swallowAnswersThenCut(300)));
      await appended;
      // It resolved only after the cut: the answer was lost, and the store settled the outcome.
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(await log.head()).toBe(4);
      expect(await log.read(1, 10)).toEqual(records(1, 4));
      await log.append([record(5)]);
      expect(await log.read(5, 1)).toEqual([record(5)]);
    } finally {
      for (const proxy of proxies) await proxy.close();
    }
  });

  it('settles an append whose request never arrived: not written, fenced, and nothing of it appears later', async () => {
    const proxies = await Promise.all(cluster!.members.map((member) => TcpProxy.start('127.0.0.1', Number(new URL(member.clientUrl).port))));
    try {
      // One member only, as above: the cut hits the append's own connection, not a fence's.
      const log = await fresh({ endpoints: [`127.0.0.1:${proxies[0]!.port}`] });
      await log.append(records(1, 2));
      proxies[0]!.dropNextRequest();
      const error = await failure(log.append(records(3, 2)));
      expect(error).toBeInstanceOf(LogStoreError);
      expect((error as LogStoreError).outcome).toBe('not-written');
      expect(await log.head()).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await log.read(1, 10)).toEqual(records(1, 2));
      // The fence moved the head's revision, not its position: the next append at 3 goes in.
      await log.append([record(3, { txId: 'after-fence' })]);
      expect((await log.read(3, 5)).map((entry) => entry.txId)).toEqual(['after-fence']);
    } finally {
      for (const proxy of proxies) await proxy.close();
    }
  });

  it("survives the README's operator routine (compaction, then defragmentation of each member) while a reader watches", async () => {
    const prefix = uniquePrefix('maintenance');
    const writer = await fresh({ prefix });
    const reader = await fresh({ prefix, headPollMs: 60_000 });
    const heads: number[] = [];
    reader.subscribe((head) => heads.push(head));
    for (let first = 1; first <= 20; first += 4) await writer.append(records(first, 4));
    const shell = (script: string): string => {
      const result = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } });
      expect(result.status, `${script}: ${result.stderr}`).toBe(0);
      return result.stdout;
    };
    const all = `--endpoints=${cluster!.endpoints.join(',')}`;
    shell(`rev=$(etcdctl ${all} endpoint status --write-out=json | grep -o '"revision":[0-9]*' | head -1 | cut -d: -f2); etcdctl ${all} compaction "$rev"`);
    for (const endpoint of cluster!.endpoints) shell(`etcdctl --endpoints=${endpoint} defrag`);
    await writer.append(records(21, 2));
    // The watch wakes the reader for appends after the compaction (its poll is a minute away).
    for (let waited = 0; Math.max(0, ...heads) < 22 && waited < 10_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(Math.max(...heads)).toBe(22);
    expect(await reader.read(1, 100)).toEqual(records(1, 22));
  });
});
