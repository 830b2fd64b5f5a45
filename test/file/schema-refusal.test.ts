import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineEntity, openStore, type EntityType } from '@ordo/core';
import { fileLog } from '@ordo/adapters/file';

// Each refusal of data the code cannot read (I6), on the file log: typed, with its fields, and
// every byte of the log directory as it was, whether the open started from a snapshot or not.
const root = mkdtempSync(join(tmpdir(), 'ordo-schema-refusal-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;

const vmV1Schema = z.object({ name: z.string(), hostId: z.string() });
const VmV1 = defineEntity('vm', vmV1Schema, { unique: ['name'] });
const VmV2 = defineEntity('vm', vmV1Schema.extend({ memoryMiB: z.number().int() }), {
  unique: ['name'],
  version: 2,
  migrations: { 1: (data) => ({ ...data, memoryMiB: 1024 }) },
});

/** Every file under `dir` and a digest of its bytes (segments are preallocated: large, mostly zeros). */
function filesOf(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    if (statSync(path).isFile()) files.set(name, createHash('sha256').update(readFileSync(path)).digest('hex'));
  }
  return files;
}

/** A closed file log written by `type`, with a snapshot after the first records when `snapshot`. */
async function writtenLog(type: EntityType, write: (name: string) => object, snapshot: boolean): Promise<string> {
  dirCount += 1;
  const dir = join(root, `log-${dirCount}`);
  const store = await openStore({ entities: [type], log: fileLog({ dir, snapshotEvery: Number.MAX_SAFE_INTEGER }) });
  await store.transact((tx) => ['a', 'b'].forEach((name) => tx.create(type, write(name) as never)));
  if (snapshot) await store.snapshot();
  await store.transact((tx) => tx.create(type, write('c') as never));
  await store.close();
  return dir;
}

async function refusedOpen(type: EntityType, dir: string): Promise<Record<string, unknown>> {
  const before = filesOf(dir);
  let refusal: unknown;
  try {
    await openStore({ entities: [type], log: fileLog({ dir }) });
  } catch (error) {
    refusal = error;
  }
  expect(refusal).toBeDefined();
  expect(filesOf(dir)).toEqual(before);
  return refusal as Record<string, unknown>;
}

describe.each([
  ['from a snapshot', true],
  ['from full replay', false],
])('file log: refusals at open %s leave the log byte for byte', (_path, snapshot) => {
  it('MIGRATION_FAILED', async () => {
    const dir = await writtenLog(VmV1, (name) => ({ name, hostId: 'h1' }), snapshot);
    const Broken = defineEntity('vm', VmV2.schema, { version: 2, migrations: { 1: (data) => ({ ...data, memoryMiB: 'lots' }) } });
    const error = await refusedOpen(Broken, dir);
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', kind: 'vm', from: 1, to: 2, position: 1 });
    expect(error.issues).toEqual([expect.objectContaining({ path: ['memoryMiB'], code: 'invalid_type' })]);
  });

  it('SCHEMA_VERSION_UNSUPPORTED', async () => {
    const dir = await writtenLog(VmV2, (name) => ({ name, hostId: 'h1', memoryMiB: 1 }), snapshot);
    expect(await refusedOpen(VmV1, dir)).toMatchObject({ code: 'SCHEMA_VERSION_UNSUPPORTED', kind: 'vm', found: 2, supported: 1 });
  });

  it('SCHEMA_MISMATCH', async () => {
    const dir = await writtenLog(VmV1, (name) => ({ name, hostId: 'h1' }), snapshot);
    const Renamed = defineEntity('vm', z.object({ name: z.string(), host: z.string() }), { unique: ['name'] });
    const error = await refusedOpen(Renamed, dir);
    expect(error).toMatchObject({ code: 'SCHEMA_MISMATCH', kind: 'vm', position: 1 });
    expect(error.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: ['host'] })]));
  });

  it('UNIQUE_VIOLATION naming the field, the value and both ids', async () => {
    const dir = await writtenLog(VmV1, (name) => ({ name, hostId: 'h1' }), snapshot);
    const OnePerHost = defineEntity('vm', vmV1Schema, { unique: ['name', 'hostId'] });
    const error = await refusedOpen(OnePerHost, dir);
    expect(error).toMatchObject({ code: 'UNIQUE_VIOLATION', kind: 'vm', field: 'hostId', value: 'h1' });
    expect(error.ids).toHaveLength(2);
  });

  it('opens the same log with code that migrates it', async () => {
    const dir = await writtenLog(VmV1, (name) => ({ name, hostId: 'h1' }), snapshot);
    const store = await openStore({ entities: [VmV2], log: fileLog({ dir }) });
    expect(store.list(VmV2).map((vm) => vm.data)).toEqual(
      expect.arrayContaining(['a', 'b', 'c'].map((name) => ({ name, hostId: 'h1', memoryMiB: 1024 }))),
    );
    await store.close();
  });
});
