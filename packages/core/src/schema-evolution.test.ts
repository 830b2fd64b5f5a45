import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineEntity, memoryLog, openStore, type EntityType, type LogStore, type Store } from '@ordo/core';
import { failure } from '../test-support/model.js';

// One kind at three versions: v2 renames the unique `name` to `hostname`, v3 adds an indexed `rack`.
const schemaV1 = z.object({ name: z.string().min(1), memoryMiB: z.number().int().positive() });
const schemaV2 = z.object({ hostname: z.string().min(1), memoryMiB: z.number().int().positive() });
const schemaV3 = schemaV2.extend({ rack: z.string() });

const renameName = (data: { readonly [key: string]: unknown }) => {
  const { name, ...rest } = data as { name: string };
  return { ...rest, hostname: name } as never;
};
const addRack = (data: { readonly [key: string]: unknown }) => ({ ...data, rack: (data.memoryMiB as number) > 4096 ? 'big' : 'small' }) as never;

const HostV1 = defineEntity('host', schemaV1, { unique: ['name'] });
const HostV2 = defineEntity('host', schemaV2, { unique: ['hostname'], version: 2, migrations: { 1: renameName } });
const HostV3 = defineEntity('host', schemaV3, { unique: ['hostname'], index: ['rack'], version: 3, migrations: { 1: renameName, 2: addRack } });

/** A log with every record of `from` and no snapshot, so that opening it replays everything. */
async function copyWithoutSnapshot(from: LogStore): Promise<LogStore> {
  const { head } = await from.open();
  const copy = memoryLog();
  if (head > 0) await copy.append(await from.read(1, head));
  return copy;
}

async function openAt(type: EntityType, log: LogStore): Promise<Store> {
  return openStore({ entities: [type], log });
}

/** A version-1 log: a snapshot in the middle, records before and after it. */
async function versionOneLog(): Promise<LogStore> {
  const log = memoryLog();
  const store = await openAt(HostV1, log);
  const ids: string[] = [];
  await store.transact((tx) => {
    for (const [name, memoryMiB] of [['h1', 2048], ['h2', 8192], ['h3', 1024]] as const) ids.push(tx.create(HostV1, { name, memoryMiB }).id);
  });
  await store.transact((tx) => tx.update(HostV1, ids[0] as string, { memoryMiB: 16384 }));
  await store.snapshot();
  await store.transact((tx) => tx.create(HostV1, { name: 'h4', memoryMiB: 512 }));
  await store.transact((tx) => tx.delete(HostV1, ids[2] as string));
  await store.transact((tx) => tx.update(HostV1, ids[1] as string, { memoryMiB: 1024 }));
  await store.close();
  return log;
}

describe('defineEntity versions', () => {
  const schema = z.object({ a: z.number() });
  const step = (data: { readonly [key: string]: unknown }) => data as never;

  it.each([
    ['a version that is not a positive integer', { version: 0 }, 'version'],
    ['a fractional version', { version: 1.5 }, 'version'],
    ['a missing step', { version: 3, migrations: { 1: step } }, 'migrations'],
    ['a step that is not a function', { version: 2, migrations: { 1: 'up' } }, 'migrations'],
    ['a step outside the range', { version: 2, migrations: { 1: step, 2: step } }, 'migrations'],
    ['writeVersion above version', { version: 2, migrations: { 1: step }, writeVersion: 3 }, 'writeVersion'],
    ['writeVersion without downgrades', { version: 2, migrations: { 1: step }, writeVersion: 1 }, 'downgrades'],
    ['oldestVersion above version', { version: 2, migrations: { 1: step }, oldestVersion: 3 }, 'oldestVersion'],
  ])('refuses %s with INVALID_ARGUMENT', (_name, options, argument) => {
    let thrown: unknown;
    try {
      defineEntity('thing', schema, options as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'INVALID_ARGUMENT', argument });
  });

  it('accepts deleted old steps when oldestVersion says so, and defaults to version 1', () => {
    expect(defineEntity('thing', schema, { version: 3, oldestVersion: 2, migrations: { 2: step } })).toMatchObject({ version: 3, oldestVersion: 2, writeVersion: 3 });
    expect(defineEntity('thing', schema)).toMatchObject({ version: 1, oldestVersion: 1, writeVersion: 1 });
  });
});

describe('opening an older log (I3, I6)', () => {
  it('migrates version-1 data to version 3 alike from full replay and from a version-1 snapshot', async () => {
    const log = await versionOneLog();
    const fromSnapshot = await openAt(HostV3, log);
    const fromReplay = await openAt(HostV3, await copyWithoutSnapshot(log));
    expect(fromSnapshot.dump()).toEqual(fromReplay.dump());
    const names = fromReplay.list(HostV3).map((host) => [host.data.hostname, host.data.memoryMiB, host.data.rack]);
    expect(names).toEqual([
      ['h1', 16384, 'big'],
      ['h2', 1024, 'small'],
      ['h4', 512, 'small'],
    ]);
    for (const store of [fromSnapshot, fromReplay]) {
      expect(store.find(HostV3, { hostname: 'h2' }).map((host) => host.data.memoryMiB)).toEqual([1024]);
      expect(store.find(HostV3, { rack: 'small' }).map((host) => host.data.hostname)).toEqual(['h2', 'h4']);
      // The renamed unique field is indexed from the migrated data: a duplicate is refused.
      const duplicate = await failure(store.transact((tx) => tx.create(HostV3, { hostname: 'h1', memoryMiB: 1, rack: 'x' })));
      expect(duplicate).toMatchObject({ code: 'UNIQUE_VIOLATION', kind: 'host', field: 'hostname', value: 'h1' });
    }
    await fromSnapshot.close();
    await fromReplay.close();
  });

  it('reads logs and snapshots from before schema versions as version 1', async () => {
    const log = await versionOneLog();
    const { snapshot } = await log.open();
    const { schemas, ...legacy } = snapshot ?? { format: 1, position: 0, entities: [], requests: [] };
    expect(schemas).toBeDefined();
    await log.writeSnapshot?.(legacy);
    const fromLegacy = await openAt(HostV3, log);
    const fromReplay = await openAt(HostV3, await copyWithoutSnapshot(log));
    expect(fromLegacy.dump()).toEqual(fromReplay.dump());
    expect(fromLegacy.find(HostV3, { hostname: 'h1' })).toHaveLength(1);
    await fromLegacy.close();
    await fromReplay.close();
  });

  it('writes at the current version, records the schema mark once, and reopens the same', async () => {
    const log = await copyWithoutSnapshot(await versionOneLog());
    const store = await openAt(HostV3, log);
    await store.transact((tx) => tx.create(HostV3, { hostname: 'h9', memoryMiB: 64, rack: 'r9' }));
    await store.transact((tx) => tx.create(HostV3, { hostname: 'h10', memoryMiB: 64, rack: 'r9' }));
    const [first, second] = await store.read({ from: store.position - 1 });
    expect(first?.changes[0]).toMatchObject({ op: 'create', schemaVersion: 3 });
    expect(first?.schemas).toEqual({ host: HostV3.fingerprint });
    expect(second?.schemas).toBeUndefined();
    const dump = store.dump();
    await store.close();
    const reopened = await openAt(HostV3, log);
    expect(reopened.dump()).toEqual(dump);
    await reopened.close();
  });

  it('store.migrate rewrites old data in bounded batches, resumably, so that the old steps can go', async () => {
    const log = await copyWithoutSnapshot(await versionOneLog());
    const store = await openAt(HostV3, log);
    const before = store.position;
    expect(await store.migrate(HostV3, { batchEntities: 2 })).toBe(3);
    expect(store.position).toBe(before + 2);
    expect(await store.migrate(HostV3)).toBe(0);
    const dump = store.dump();
    await store.snapshot();
    await store.close();
    // With a snapshot after the rewrite, code without the old steps opens; a full replay
    // still needs them and says so.
    const HostV3Only = defineEntity('host', schemaV3, { unique: ['hostname'], index: ['rack'], version: 3, oldestVersion: 3 });
    const reopened = await openAt(HostV3Only, log);
    expect(reopened.dump().entities).toEqual(dump.entities);
    await reopened.close();
    const refused = await failure(openAt(HostV3Only, await copyWithoutSnapshot(log)));
    expect(refused).toMatchObject({ code: 'SCHEMA_VERSION_UNSUPPORTED', kind: 'host', found: 1, supported: 3, oldest: 3 });
  });
});

describe('refusals at open: the log is left as it was', () => {
  async function refusal(type: EntityType, log: LogStore): Promise<Error & Record<string, unknown>> {
    const { head } = await log.open();
    const records = head === 0 ? [] : await log.read(1, head);
    const error = await failure(openAt(type, log));
    expect((await log.open()).head).toBe(head);
    expect(head === 0 ? [] : await log.read(1, head)).toEqual(records);
    return error as Error & Record<string, unknown>;
  }

  it('MIGRATION_FAILED when a step throws, naming kind, id, position, versions and cause', async () => {
    const log = await copyWithoutSnapshot(await versionOneLog());
    const Throwing = defineEntity('host', schemaV2, {
      version: 2,
      migrations: {
        1: () => {
          throw new Error('no hostname rule');
        },
      },
    });
    const error = await refusal(Throwing, log);
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', kind: 'host', position: 1, from: 1, to: 2 });
    expect(typeof error.id).toBe('string');
    expect((error.cause as Error).message).toBe('no hostname rule');
  });

  it('MIGRATION_FAILED when a step changes its input or gives data that fails the schema, with the zod issues', async () => {
    const log = await copyWithoutSnapshot(await versionOneLog());
    const Mutating = defineEntity('host', schemaV2, {
      version: 2,
      migrations: { 1: (data) => Object.assign(data, { hostname: 'x' }) },
    });
    expect(await refusal(Mutating, log)).toMatchObject({ code: 'MIGRATION_FAILED', from: 1, to: 2 });
    const Forgetful = defineEntity('host', schemaV2, { version: 2, migrations: { 1: (data) => ({ ...data }) } });
    const error = await refusal(Forgetful, log);
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', kind: 'host', position: 1, from: 1, to: 2 });
    expect(error.issues).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'unrecognized_keys' })]));
  });

  it('SCHEMA_VERSION_UNSUPPORTED when the log or a snapshot holds a newer version than the code', async () => {
    const log = memoryLog();
    const newer = await openAt(HostV2, log);
    await newer.transact((tx) => tx.create(HostV2, { hostname: 'n1', memoryMiB: 1 }));
    await newer.snapshot();
    await newer.close();
    for (const source of [log, await copyWithoutSnapshot(log)]) {
      expect(await refusal(HostV1, source)).toMatchObject({ code: 'SCHEMA_VERSION_UNSUPPORTED', kind: 'host', found: 2, supported: 1 });
    }
  });

  it('SCHEMA_MISMATCH when the schema changed without a version bump, from replay and from a snapshot', async () => {
    const log = memoryLog();
    const store = await openAt(HostV1, log);
    await store.transact((tx) => tx.create(HostV1, { name: 'm1', memoryMiB: 1 }));
    await store.snapshot();
    await store.close();
    const Changed = defineEntity('host', schemaV1.extend({ rack: z.string() }), { unique: ['name'] });
    for (const source of [log, await copyWithoutSnapshot(log)]) {
      const error = await refusal(Changed, source);
      expect(error).toMatchObject({ code: 'SCHEMA_MISMATCH', kind: 'host', position: 1 });
      expect(error.issues).toEqual([expect.objectContaining({ path: ['rack'] })]);
    }
    // A compatible change without a bump (a new optional field) is checked and accepted.
    const Compatible = defineEntity('host', schemaV1.extend({ rack: z.string().optional() }), { unique: ['name'] });
    const opened = await openAt(Compatible, await copyWithoutSnapshot(log));
    expect(opened.list(Compatible).map((host) => host.data.name)).toEqual(['m1']);
    await opened.close();
  });

  it('UNIQUE_VIOLATION, not INTERNAL, when a new unique constraint meets shared values', async () => {
    const Vm = defineEntity('vm', z.object({ hostId: z.string() }));
    const log = memoryLog();
    const store = await openAt(Vm, log);
    const [a, b] = await store.transact((tx) => [tx.create(Vm, { hostId: 'h1' }).id, tx.create(Vm, { hostId: 'h1' }).id]).then((result) => result.value);
    await store.close();
    const UniqueVm = defineEntity('vm', z.object({ hostId: z.string() }), { unique: ['hostId'] });
    const error = await refusal(UniqueVm, log);
    expect(error).toMatchObject({ code: 'UNIQUE_VIOLATION', kind: 'vm', field: 'hostId', value: 'h1' });
    expect([...(error.ids as string[])].sort()).toEqual([a, b].sort());
  });
});

describe('a rolling upgrade (writeVersion)', () => {
  const HostV2Writing1 = defineEntity('host', schemaV2, {
    unique: ['hostname'],
    version: 2,
    migrations: { 1: renameName },
    writeVersion: 1,
    downgrades: {
      2: (data) => {
        const { hostname, ...rest } = data as { hostname: string };
        return { ...rest, name: hostname };
      },
    },
  });

  it('reads version 2 while writing version 1, which version-1 code on the same log still folds', async () => {
    const log = memoryLog();
    const old = await openAt(HostV1, log);
    const upgraded = await openAt(HostV2Writing1, log);
    const created = await upgraded.transact((tx) => tx.create(HostV2Writing1, { hostname: 'r1', memoryMiB: 3 }));
    expect(created.value.data).toEqual({ hostname: 'r1', memoryMiB: 3 });
    const [record] = await upgraded.read({ from: 1 });
    // Stored at version 1, which leaves the schema version out.
    expect(record?.changes[0]).toEqual({ op: 'create', kind: 'host', id: created.value.id, version: 1, data: { name: 'r1', memoryMiB: 3 } });
    await old.sync();
    expect(old.list(HostV1).map((host) => host.data)).toEqual([{ name: 'r1', memoryMiB: 3 }]);
    await old.transact((tx) => tx.update(HostV1, created.value.id, { memoryMiB: 4 }));
    await upgraded.sync();
    expect(upgraded.get(HostV2Writing1, created.value.id)?.data).toEqual({ hostname: 'r1', memoryMiB: 4 });
    expect(await failure(upgraded.migrate(HostV2Writing1))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    // The second release writes version 2: the remaining old process stops at its next catch-up.
    const second = await openAt(HostV2, log);
    await second.transact((tx) => tx.create(HostV2, { hostname: 'r2', memoryMiB: 5 }));
    await upgraded.sync();
    expect(upgraded.dump().entities).toEqual(second.dump().entities);
    expect(await failure(old.sync())).toMatchObject({ code: 'SCHEMA_VERSION_UNSUPPORTED', found: 2, supported: 1 });
    expect(await failure(old.transact((tx) => tx.create(HostV1, { name: 'late', memoryMiB: 1 })))).toMatchObject({ code: 'SCHEMA_VERSION_UNSUPPORTED' });
    expect(old.list(HostV1)).toHaveLength(1);
    for (const store of [old, upgraded, second]) await store.close();
  });
});

describe('property: random version-1 data and random migration chains', () => {
  const fields = ['f0', 'f1', 'f2', 'f3'] as const;
  type Data = Partial<Record<(typeof fields)[number], number>>;
  const schema = z.object({ f0: z.number().int().optional(), f1: z.number().int().optional(), f2: z.number().int().optional(), f3: z.number().int().optional() });
  const field = fc.constantFrom(...fields);
  const step = fc.oneof(
    fc.record({ type: fc.constant('copy' as const), from: field, to: field, add: fc.integer({ min: -5, max: 5 }) }),
    fc.record({ type: fc.constant('drop' as const), field }),
    fc.record({ type: fc.constant('double' as const), field }),
  );
  type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

  function apply(data: Data, one: Step): Data {
    const next: Data = { ...data };
    if (one.type === 'drop') delete next[one.field];
    else if (one.type === 'double') {
      if (next[one.field] !== undefined) next[one.field] = (next[one.field] as number) * 2;
    } else if (data[one.from] === undefined) delete next[one.to];
    else next[one.to] = (data[one.from] as number) + one.add;
    return next;
  }

  const values = fc.record({ f0: fc.integer({ min: -9, max: 9 }), f1: fc.integer({ min: -99, max: 99 }), f2: fc.integer({ min: -99, max: 99 }) }, { requiredKeys: ['f0'] });
  const command = fc.oneof(
    fc.record({ type: fc.constant('create' as const), values }),
    fc.record({ type: fc.constant('update' as const), target: fc.nat(), values }),
    fc.record({ type: fc.constant('delete' as const), target: fc.nat() }),
  );

  it('replay, v1 snapshot then replay, and a snapshot of the migrated state agree, and equal the chain applied to the data', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 25 }), fc.nat(), fc.array(step, { minLength: 1, maxLength: 4 }), async (commands, snapshotAt, chain) => {
        const V1 = defineEntity('rec', schema, { index: ['f0'] });
        const migrations = Object.fromEntries(chain.map((one, index) => [index + 1, (data: object) => apply(data, one) as never]));
        const Vk = defineEntity('rec', schema, { index: ['f0'], version: chain.length + 1, migrations });
        const log = memoryLog();
        const writer = await openAt(V1, log);
        const ids: string[] = [];
        for (const [index, one] of commands.entries()) {
          if (index === snapshotAt % commands.length) await writer.snapshot();
          const live = ids.filter((id) => writer.get(V1, id) !== undefined);
          const target = one.type === 'create' ? undefined : live[one.target % Math.max(live.length, 1)];
          if (one.type === 'create') ids.push((await writer.transact((tx) => tx.create(V1, one.values).id)).value);
          else if (target !== undefined && one.type === 'update') await writer.transact((tx) => tx.update(V1, target, () => one.values));
          else if (target !== undefined) await writer.transact((tx) => tx.delete(V1, target));
        }
        const expected = writer.list(V1).map((entity) => ({ id: entity.id, data: chain.reduce(apply, entity.data as Data) }));
        await writer.close();
        const fromSnapshot = await openAt(Vk, log);
        const fromReplay = await openAt(Vk, await copyWithoutSnapshot(log));
        expect(fromSnapshot.dump()).toEqual(fromReplay.dump());
        expect(fromReplay.list(Vk).map((entity) => ({ id: entity.id, data: entity.data }))).toEqual(expected);
        await fromReplay.snapshot();
        await fromReplay.close();
        await fromSnapshot.close();
        const replayLog = await copyWithoutSnapshot(log);
        const again = await openAt(Vk, replayLog);
        await again.snapshot();
        await again.close();
        const fromMigratedSnapshot = await openAt(Vk, replayLog);
        expect(fromMigratedSnapshot.dump()).toEqual(fromSnapshot.dump());
        await fromMigratedSnapshot.close();
      }),
      { numRuns: 60 },
    );
  });
});
