import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { etcdLog } from '@ordo/adapters/etcd';
import { fileLog } from '@ordo/adapters/file';
import { openStore, type LogRecord, type LogStore } from '@ordo/core';
import { describeWithCluster, uniquePrefix } from '../etcd/etcd-test-env.js';
import { jsonOf, runCli, runCliProcess } from './run-cli.js';
import { Host, Vm, writeSampleLog, type SampleLog } from './sample-log.js';

const root = mkdtempSync(join(tmpdir(), 'ordo-cli-etcd-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function readAll(log: LogStore): Promise<LogRecord[]> {
  const { head } = await log.open();
  const records = head === 0 ? [] : await log.read(1, head);
  await log.close();
  return records;
}

describeWithCluster('ordo against etcd logs', (cluster) => {
  // etcd://host:port,host:port,host:port/PREFIX: every member, as an operator would name them.
  const urlOf = (prefix: string): string => `etcd://${cluster().endpoints.map((endpoint) => new URL(endpoint).host).join(',')}/${prefix}`;
  const source = join(root, 'source');
  let sample: SampleLog;
  let sampleHead = 0;
  beforeAll(async () => {
    sample = await writeSampleLog(fileLog({ dir: source }));
    sampleHead = sample.head;
  });

  it('copy file -> etcd -> file keeps every record exactly; info, records, get, list, operation and verify read the etcd log', async () => {
    const prefix = uniquePrefix('cli');
    const url = urlOf(prefix);
    const there = await runCliProcess(['copy', '--from', `file:${source}`, '--to', url, '--snapshot']);
    expect(there.code, there.stderr).toBe(0);
    expect(there.stdout).toContain(`copied ${sampleHead} records and the snapshot at ${sampleHead - 1}`);
    const back = join(root, 'back');
    expect((await runCli(['copy', '--from', url, '--to', `file:${back}`, '--snapshot'])).code).toBe(0);
    const original = await readAll(fileLog({ dir: source, readOnly: true }));
    expect(await readAll(etcdLog({ endpoints: cluster().endpoints, prefix }))).toEqual(original);
    expect(await readAll(fileLog({ dir: back, readOnly: true }))).toEqual(original);
    const store = await openStore({ entities: [Host, Vm], log: etcdLog({ endpoints: cluster().endpoints, prefix }) });
    const dump = store.dump();
    await store.close();
    const fromFile = await openStore({ entities: [Host, Vm], log: fileLog({ dir: source, readOnly: true }) });
    expect(dump).toEqual(fromFile.dump());
    await fromFile.close();

    const [info, records, get, list, operation, verify] = await Promise.all([
      runCli(['info', '--log', url, '--json']),
      runCli(['records', '--log', url, '--from', String(sample.succeededPosition), '--limit', '1', '--json']),
      runCli(['get', 'host', sample.hostId, '--log', url, '--at', '3', '--json']),
      runCli(['list', 'vm', '--log', url, '--json']),
      runCli(['operation', sample.failedRequestId, '--log', url, '--json']),
      runCli(['verify', '--log', url]),
    ]);
    expect((JSON.parse(records.stdout) as LogRecord).requestId).toBe('create-web-1');
    expect(jsonOf(get)).toMatchObject({ position: 3, entity: { id: sample.hostId, version: 1 } });
    expect(jsonOf(operation)).toMatchObject({ status: 'compensated' });
    expect(jsonOf(info)).toMatchObject({ head: sampleHead, firstPosition: 1, records: sampleHead, entities: { host: 5, vm: 1 }, snapshots: [{ position: sampleHead - 1 }] });
    expect(jsonOf<{ parts: { name: string; bytes: number }[] }>(info).parts[0]!.bytes).toBeGreaterThan(0);
    expect(jsonOf<{ entities: unknown[] }>(list).entities).toHaveLength(1);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain(`ok: ${url}`);
    // A second copy into the prefix is refused before anything is written.
    const again = await runCli(['copy', '--from', `file:${source}`, '--to', url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^ordo: TARGET_NOT_EMPTY: etcd:\/\/.*holds 13 records, 1 snapshots/);
  });

  it('a command that reads refuses a prefix without a log and writes nothing there', async () => {
    const prefix = uniquePrefix('cli-missing');
    const run = await runCli(['info', '--log', urlOf(prefix)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^ordo: LOG_STORE_FAILED: etcd log store: etcd:\/\/.* holds no Ordo log/);
    const admin = new Etcd3({ hosts: cluster().endpoints });
    try {
      expect(await admin.getAll().prefix(`${prefix}/`).count()).toBe(0);
    } finally {
      admin.close();
    }
  });

  it('an etcd URL that names no members is a usage error', async () => {
    const run = await runCli(['info', '--log', 'etcd://host-without-port/ordo']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('name every member as host:port');
  });
});
