import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fileLog } from '@ordo/adapters/file';
import { postgresLog } from '@ordo/adapters/postgres';
import { openStore, type LogRecord, type LogStore } from '@ordo/core';
import { describePostgres, dropSchemas, pgUrl, uniqueSchema } from '../postgres/pg-test-env.js';
import { jsonOf, runCli, runCliProcess } from './run-cli.js';
import { Host, Vm, writeSampleLog, type SampleLog } from './sample-log.js';

const root = mkdtempSync(join(tmpdir(), 'ordo-cli-pg-'));
const schemas: string[] = [];
afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  await dropSchemas(schemas);
});

function pgLogUrl(schema: string): string {
  schemas.push(schema);
  return `${pgUrl}?schema=${schema}`;
}

async function readAll(log: LogStore): Promise<LogRecord[]> {
  const { head } = await log.open();
  const records = head === 0 ? [] : await log.read(1, head);
  await log.close();
  return records;
}

describePostgres('ordo against PostgreSQL logs', () => {
  const source = join(root, 'source');
  let sample: SampleLog;
  beforeAll(async () => {
    sample = await writeSampleLog(fileLog({ dir: source }));
  });

  it('copy file -> PostgreSQL -> file keeps positions, txIds, requestIds and times exactly: records and dump() equal the original', async () => {
    const schema = uniqueSchema('cli_copy');
    const middle = pgLogUrl(schema);
    const back = join(root, 'back');
    const there = await runCliProcess(['copy', '--from', `file:${source}`, '--to', middle, '--snapshot']);
    expect(there.code).toBe(0);
    expect(there.stdout).toContain(`copied ${sample.head} records and the snapshot at ${sample.head - 1}`);
    expect(there.stderr).toMatch(/copy: \d+\/\d+ records/);
    const returned = await runCli(['copy', '--from', middle, '--to', `file:${back}`, '--snapshot', '--json']);
    expect(jsonOf(returned)).toMatchObject({ records: sample.head, snapshot: sample.head - 1 });
    const original = await readAll(fileLog({ dir: source, readOnly: true }));
    expect(await readAll(postgresLog({ connectionString: pgUrl, schema }))).toEqual(original);
    expect(await readAll(fileLog({ dir: back, readOnly: true }))).toEqual(original);
    for (const log of [fileLog({ dir: back }), postgresLog({ connectionString: pgUrl, schema })]) {
      const store = await openStore({ entities: [Host, Vm], log });
      expect(store.dump()).toEqual(sample.dump);
      await store.close();
    }
    // A second copy into either target is refused before anything is written.
    const [toPostgres, toFile] = await Promise.all([
      runCli(['copy', '--from', `file:${source}`, '--to', middle]),
      runCli(['copy', '--from', `file:${source}`, '--to', `file:${back}`]),
    ]);
    expect(toPostgres.stderr).toMatch(/^ordo: TARGET_NOT_EMPTY: postgres:\/\/.*holds 13 records, 1 snapshots/);
    expect(toFile.stderr).toMatch(/^ordo: TARGET_NOT_EMPTY: file:/);
  });

  it('info, records, get, list, operation, verify and export/import on a PostgreSQL log', async () => {
    const schema = uniqueSchema('cli_cmds');
    const url = pgLogUrl(schema);
    const written = await writeSampleLog(postgresLog({ connectionString: pgUrl, schema }));
    const [info, records, get, list, operation, verify] = await Promise.all([
      runCli(['info', '--log', url, '--json']),
      runCli(['records', '--log', url, '--from', String(sample.succeededPosition), '--limit', '1', '--json']),
      runCli(['get', 'host', written.hostId, '--log', url, '--at', '3', '--json']),
      runCli(['list', 'vm', '--log', url, '--json']),
      runCli(['operation', sample.failedRequestId, '--log', url, '--json']),
      runCli(['verify', '--log', url]),
    ]);
    expect(jsonOf(info)).toMatchObject({ head: sample.head, records: sample.head, entities: { host: 5, vm: 1 }, snapshots: [{ position: sample.head - 1 }] });
    expect((JSON.parse(records.stdout) as LogRecord).requestId).toBe('create-web-1');
    expect(jsonOf(get)).toMatchObject({ position: 3, entity: { id: written.hostId, version: 1, data: { memoryMiB: 1024 } } });
    expect(jsonOf<{ entities: unknown[] }>(list).entities).toHaveLength(1);
    expect(jsonOf(operation)).toMatchObject({ status: 'compensated' });
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain(`ok: postgres://postgres@127.0.0.1:5432/test?schema=${schema}`);
    const out = join(root, `${schema}.ordo`);
    expect((await runCli(['export', '--log', url, '--out', out])).code).toBe(0);
    const imported = uniqueSchema('cli_import');
    expect((await runCli(['import', '--in', out, '--log', pgLogUrl(imported)])).code).toBe(0);
    expect(await readAll(postgresLog({ connectionString: pgUrl, schema: imported }))).toEqual(await readAll(postgresLog({ connectionString: pgUrl, schema })));
  });

  it('a command that reads refuses a schema without a log and does not create one', async () => {
    const schema = uniqueSchema('cli_missing');
    const run = await runCli(['info', '--log', pgLogUrl(schema)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^ordo: LOG_STORE_FAILED: postgres log store: postgres:\/\/.* holds no Ordo log/);
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    try {
      const found = await client.query('SELECT count(*)::int AS n FROM information_schema.schemata WHERE schema_name = $1', [schema]);
      expect((found.rows[0] as { n: number }).n).toBe(0);
    } finally {
      await client.end();
    }
  });

  it('verify names the table and position of a damaged row, exit 1, and changes nothing', async () => {
    const schema = uniqueSchema('cli_damaged');
    const url = pgLogUrl(schema);
    await writeSampleLog(postgresLog({ connectionString: pgUrl, schema }), { snapshot: false });
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    try {
      await client.query(`UPDATE "${schema}".records SET record = '{"position": 99, "txId": "x", "changes": []}' WHERE position = 4`);
      const run = await runCliProcess(['verify', '--log', url]);
      expect(run.code).toBe(1);
      expect(run.stderr.trim()).toBe(`ordo: LOG_CORRUPT: postgres log store: log corrupt in "${schema}".records at position 4: stored record does not carry its own position`);
      const row = await client.query(`SELECT record::text AS body FROM "${schema}".records WHERE position = 4`);
      expect((row.rows[0] as { body: string }).body).toContain('"position": 99');
    } finally {
      await client.end();
    }
  });
});
