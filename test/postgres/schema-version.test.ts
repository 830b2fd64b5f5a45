import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { isOrdoError, openStore, type LogRecord } from '@ordo/core';
import { postgresLog } from '@ordo/adapters/postgres';
import { describePostgres, dropSchemas, pgUrl, uniqueSchema } from './pg-test-env.js';
import { VmV1, VmV2, type Release } from './schema-version-model.js';

const childScript = fileURLToPath(new URL('./schema-version-child.ts', import.meta.url));
const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

/** Runs one process of `release` that creates a vm named `name` on the log in `schema`. */
function runRelease(schema: string, release: Release, name: string): Promise<{ position: number; version: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@ordo/source', '--import', 'tsx', childScript, pgUrl, schema, release, name], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(stdout) as { position: number; version: number }) : reject(new Error(`child exited ${String(code)}: ${stderr}`))));
  });
}

async function wholeLog(schema: string): Promise<LogRecord[]> {
  const log = postgresLog({ connectionString: pgUrl, schema });
  const { head } = await log.open();
  const records = head === 0 ? [] : await log.read(1, head);
  await log.close();
  return records;
}

describePostgres('schema versions on a shared PostgreSQL log (I6)', () => {
  it('a rolling upgrade: version-1 processes read what the first release writes, then stop when the second writes version 2', async () => {
    const schema = uniqueSchema('schemaver');
    schemas.push(schema);
    const old = await openStore({ entities: [VmV1], log: postgresLog({ connectionString: pgUrl, schema }) });
    await old.transact((tx) => tx.create(VmV1, { name: 'first' }));
    // Release 1 of the upgrade reads version 2 but still writes version 1.
    expect(await runRelease(schema, 'v2-writing-v1', 'rolled')).toEqual({ position: 2, version: 1 });
    await old.sync();
    expect(old.list(VmV1).map((vm) => vm.data)).toEqual(expect.arrayContaining([{ name: 'first' }, { name: 'rolled' }]));
    await old.transact((tx) => tx.create(VmV1, { name: 'still-old' }));
    // Release 2 writes version 2: the old process refuses it at its next catch-up.
    expect(await runRelease(schema, 'v2', 'newer')).toEqual({ position: 4, version: 2 });
    const refusal = await old.sync().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isOrdoError(refusal, 'SCHEMA_VERSION_UNSUPPORTED')).toBe(true);
    expect(refusal).toMatchObject({ kind: 'vm', found: 2, supported: 1, position: 4 });
    expect(old.list(VmV1).map((vm) => vm.data.name).sort()).toEqual(['first', 'rolled', 'still-old']);
    // It writes nothing more: the log holds what the processes that could read it wrote.
    const write = await old.transact((tx) => tx.create(VmV1, { name: 'too-late' })).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isOrdoError(write, 'SCHEMA_VERSION_UNSUPPORTED')).toBe(true);
    const records = await wholeLog(schema);
    expect(records.map((record) => record.changes.map((change) => (change.op === 'delete' ? undefined : change.data.name)))).toEqual([['first'], ['rolled'], ['still-old'], ['newer']]);
    await old.close();
    // The second release reads the whole history, old and new versions alike.
    const current = await openStore({ entities: [VmV2], log: postgresLog({ connectionString: pgUrl, schema }) });
    expect(current.list(VmV2).map((vm) => [vm.data.name, vm.data.memoryMiB]).sort()).toEqual([
      ['first', 512],
      ['newer', 2048],
      ['rolled', 512],
      ['still-old', 512],
    ]);
    await current.close();
  });
});
