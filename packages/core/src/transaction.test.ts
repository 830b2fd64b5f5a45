import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineEntity, memoryLog, openStore } from '@ordo/core';
import { Counter, failure, Host, open, Vm } from '../test-support/model.js';

describe('entities and transactions', () => {
  it('creates, updates and deletes with versions counting committed changes', async () => {
    const store = await open();
    const created = await store.transact((tx) => tx.create(Vm, { name: 'web', memoryMiB: 512 }));
    expect(created.position).toBe(1);
    expect(created.value).toMatchObject({ kind: 'vm', version: 1, data: { name: 'web', memoryMiB: 512, tags: [] } });
    const id = created.value.id;
    await store.transact((tx) => tx.update(Vm, id, (draft) => void (draft.memoryMiB = 1024)));
    const patched = await store.transact((tx) => tx.update(Vm, id, { tags: ['a'] }));
    expect(patched.value).toMatchObject({ version: 3, data: { name: 'web', memoryMiB: 1024, tags: ['a'] } });
    expect(store.get(Vm, id)).toEqual(patched.value);
    await store.transact((tx) => tx.delete(Vm, id));
    expect(store.get(Vm, id)).toBeUndefined();
    expect(store.position).toBe(4);
    const records = await store.read({ from: 1 });
    expect(records.map((record) => record.changes.map((change) => `${change.op}@${change.version}`))).toEqual([
      ['create@1'],
      ['update@2'],
      ['update@3'],
      ['delete@4'],
    ]);
  });

  it('lets reads inside a transaction see its own writes, and folds several updates into one version', async () => {
    const store = await open();
    const host = (await store.transact((tx) => tx.create(Host, { name: 'h1', memoryMiB: 4096 }))).value;
    const result = await store.transact((tx) => {
      const vm = tx.create(Vm, { name: 'a', hostId: host.id, memoryMiB: 1 });
      tx.update(Vm, vm.id, { memoryMiB: 2 });
      tx.update(Vm, vm.id, { memoryMiB: 3 });
      tx.update(Host, host.id, { memoryMiB: 8192 });
      tx.update(Host, host.id, { memoryMiB: 16384 });
      return {
        found: tx.find(Vm, { hostId: host.id }).map((entity) => entity.data.memoryMiB),
        byName: tx.find(Vm, { name: 'a' }).length,
        listed: tx.list(Vm).length,
        got: tx.get(Vm, vm.id)?.version,
        host: tx.require(Host, host.id).version,
      };
    });
    expect(result.value).toEqual({ found: [3], byName: 1, listed: 1, got: 1, host: 2 });
    const [record] = await store.read({ from: result.position, limit: 1 });
    expect(record?.changes.map((change) => [change.op, change.kind, change.version])).toEqual([
      ['create', 'vm', 1],
      ['update', 'host', 2],
    ]);
  });

  it('writes no record for a create that the same transaction deletes', async () => {
    const store = await open();
    const result = await store.transact((tx) => {
      const vm = tx.create(Vm, { name: 'temp', memoryMiB: 1 });
      tx.delete(Vm, vm.id);
      return tx.get(Vm, vm.id);
    });
    expect(result.value).toBeUndefined();
    expect(store.position).toBe(0);
  });

  it('turns a delete and a create of the same id in one transaction into one update', async () => {
    const log = memoryLog();
    const store = await open(log);
    await store.transact((tx) => tx.create(Vm, { name: 'a', memoryMiB: 1 }, { id: 'v' }));
    const result = await store.transact((tx) => {
      tx.delete(Vm, 'v');
      return tx.create(Vm, { name: 'a', memoryMiB: 2 }, { id: 'v' });
    });
    expect(result.value.version).toBe(2);
    expect(result.changes.map((change) => change.op)).toEqual(['update']);
    expect(store.get(Vm, 'v')).toMatchObject({ version: 2, data: { memoryMiB: 2 } });
    const incremental = store.dump();
    await store.close();
    expect((await open(log)).dump()).toEqual(incremental);
  });

  it('rejects schema-invalid data with the kind and field paths, writing nothing', async () => {
    const store = await open();
    const error = await failure(store.transact((tx) => tx.create(Vm, { name: '', memoryMiB: -1 })));
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', kind: 'vm' });
    const paths = (error as unknown as { issues: { path: unknown[] }[] }).issues.map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining([['name'], ['memoryMiB']]));
    expect(store.position).toBe(0);
  });

  it('rejects unknown fields (policy: schemas are strict) on create and update', async () => {
    const store = await open();
    const created = await failure(store.transact((tx) => tx.create(Vm, { name: 'a', memoryMiB: 1, memoryMb: 2 } as never)));
    expect(created).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((created as unknown as { issues: { code: string }[] }).issues[0]?.code).toBe('unrecognized_keys');
    const id = (await store.transact((tx) => tx.create(Vm, { name: 'a', memoryMiB: 1 }))).value.id;
    const updated = await failure(store.transact((tx) => tx.update(Vm, id, { cpu: 4 } as never)));
    expect(updated).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(store.position).toBe(1);
  });

  it('stores entity data as JSON: -0 and undefined keys are normalized, non-JSON values refused with their path', async () => {
    const Blob = defineEntity('blob', z.object({ n: z.number(), note: z.string().optional(), extra: z.unknown().optional() }));
    const store = await openStore({ entities: [Blob], log: memoryLog() });
    const { value } = await store.transact((tx) => tx.create(Blob, { n: -0, note: undefined }));
    expect(value.data).toStrictEqual({ n: 0 });
    expect(Object.is(value.data.n, 0)).toBe(true);
    const error = await failure(store.transact((tx) => tx.create(Blob, { n: 1, extra: { at: [new Date(0)] } })));
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', kind: 'blob' });
    expect((error as unknown as { issues: unknown[] }).issues[0]).toMatchObject({ path: ['extra', 'at', 0], code: 'not_json' });
    expect(await failure(store.transact((tx) => tx.update(Blob, value.id, { n: 2 }), { meta: { when: new Date(0) } as never }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      argument: 'meta',
    });
    expect(store.position).toBe(1);
  });

  it('turns immer refusals of a recipe into typed errors and passes errors of the recipe itself through', async () => {
    const store = await open();
    const vm = (await store.transact((tx) => tx.create(Vm, { name: 'a', memoryMiB: 1 }))).value;
    const both = await failure(
      store.transact((tx) =>
        tx.update(Vm, vm.id, (draft) => {
          draft.memoryMiB = 2;
          return { name: 'b', memoryMiB: 3, tags: [] };
        }),
      ),
    );
    expect(both).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'recipe' });
    const own = new Error('mine');
    expect(
      await failure(
        store.transact((tx) =>
          tx.update(Vm, vm.id, () => {
            throw own;
          }),
        ),
      ),
    ).toBe(own);
    expect(await failure(store.transact(() => 1, { retries: Object.create(null) as number }))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(store.position).toBe(1);
  });

  it('refuses to change id, kind or version, through a patch or a recipe', async () => {
    const store = await open();
    const vm = (await store.transact((tx) => tx.create(Vm, { name: 'a', memoryMiB: 1 }))).value;
    for (const key of ['id', 'kind', 'version']) {
      const error = await failure(store.transact((tx) => tx.update(Vm, vm.id, { [key]: 'x' })));
      expect(error).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect((error as unknown as { issues: { path: unknown[]; code: string }[] }).issues[0]).toMatchObject({
        path: [key],
        code: 'immutable_field',
      });
    }
    const viaRecipe = await failure(
      store.transact((tx) => tx.update(Vm, vm.id, (draft) => void ((draft as Record<string, unknown>).version = 9))),
    );
    expect(viaRecipe).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(() => ((store.get(Vm, vm.id) as { version: number }).version = 7)).toThrow(TypeError);
    expect(store.get(Vm, vm.id)?.version).toBe(1);
    expect(store.position).toBe(1);
  });

  it('rejects an update or delete of a missing entity with NotFoundError', async () => {
    const store = await open();
    expect(await failure(store.transact((tx) => tx.update(Vm, 'nope', { memoryMiB: 2 })))).toMatchObject({
      code: 'NOT_FOUND',
      kind: 'vm',
      id: 'nope',
    });
    expect(await failure(store.transact((tx) => tx.delete(Vm, 'nope')))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await failure(store.transact((tx) => tx.require(Host, 'nope')))).toMatchObject({ code: 'NOT_FOUND', kind: 'host' });
    expect(store.position).toBe(0);
  });

  it('enforces unique fields across entities and within one transaction, and frees values on delete or rename', async () => {
    const store = await open();
    const first = (await store.transact((tx) => tx.create(Vm, { name: 'a', memoryMiB: 1 }))).value;
    expect(await failure(store.transact((tx) => tx.create(Vm, { name: 'a', memoryMiB: 2 })))).toMatchObject({
      code: 'UNIQUE_VIOLATION',
      field: 'name',
      value: 'a',
      existingId: first.id,
    });
    const second = (await store.transact((tx) => tx.create(Vm, { name: 'b', memoryMiB: 1 }))).value;
    expect(await failure(store.transact((tx) => tx.update(Vm, second.id, { name: 'a' })))).toMatchObject({
      code: 'UNIQUE_VIOLATION',
    });
    expect(
      await failure(
        store.transact((tx) => {
          tx.create(Vm, { name: 'c', memoryMiB: 1 });
          tx.create(Vm, { name: 'c', memoryMiB: 1 });
        }),
      ),
    ).toMatchObject({ code: 'UNIQUE_VIOLATION', value: 'c' });
    expect(store.position).toBe(2);
    // A swap inside one transaction is fine: values are released before they are claimed.
    await store.transact((tx) => {
      tx.update(Vm, first.id, { name: 'tmp' });
      tx.update(Vm, second.id, { name: 'a' });
      tx.update(Vm, first.id, { name: 'b' });
    });
    expect(store.find(Vm, { name: 'a' }).map((vm) => vm.id)).toEqual([second.id]);
    await store.transact((tx) => tx.delete(Vm, second.id));
    await store.transact((tx) => tx.create(Vm, { name: 'a', memoryMiB: 3 }));
    expect(store.find(Vm, { name: 'a' })).toHaveLength(1);
  });

  it('lets a throwing transaction write nothing and passes its error through unchanged', async () => {
    const store = await open();
    const mine = new Error('domain says no');
    const error = await failure(
      store.transact(async (tx) => {
        tx.create(Vm, { name: 'x', memoryMiB: 1 });
        await Promise.resolve();
        throw mine;
      }),
    );
    expect(error).toBe(mine);
    expect(store.position).toBe(0);
    expect(store.list(Vm)).toEqual([]);
  });

  it('gives typed errors for misuse', async () => {
    const store = await open();
    const Stranger = defineEntity('stranger', z.object({ a: z.string() }));
    expect(await failure(store.transact((tx) => tx.create(Stranger, { a: 'x' })))).toMatchObject({ code: 'UNKNOWN_ENTITY_TYPE' });
    expect(() => store.get(Stranger, 'x')).toThrow(expect.objectContaining({ code: 'UNKNOWN_ENTITY_TYPE' }));
    expect(() => store.find(Vm, { memoryMiB: 1 })).toThrow(expect.objectContaining({ code: 'NOT_INDEXED', field: 'memoryMiB' }));
    expect(() => store.find(Vm, {})).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    for (const retries of [-1, 1.5, 10_001, Number.NaN]) {
      expect(await failure(store.transact(() => 1, { retries }))).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'retries' });
    }
    expect(await failure(store.transact(() => 1, { requestId: '' }))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await failure(store.read({ from: 0 }))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    let escaped: Parameters<Parameters<typeof store.transact>[0]>[0] | undefined;
    await store.transact((tx) => void (escaped = tx));
    expect(() => escaped?.list(Vm)).toThrow(expect.objectContaining({ code: 'TRANSACTION_FINISHED' }));
    await expect(openStore({ entities: [Vm, Vm], log: memoryLog() })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(() => defineEntity('bad kind!', z.object({}))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => defineEntity('k', z.object({ a: z.string() }), { index: ['b' as 'a'] })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    await store.close();
    expect(await failure(store.transact(() => 1))).toMatchObject({ code: 'STORE_CLOSED' });
    expect(store.position).toBe(0);
  });

  it('keeps records and entities immutable (I1)', async () => {
    const store = await open();
    const { value } = await store.transact((tx) => tx.create(Vm, { name: 'a', memoryMiB: 1, tags: ['x'] }));
    const [record] = await store.read({ from: 1 });
    expect(Object.isFrozen(record)).toBe(true);
    expect(() => (value.data.tags).push('y')).toThrow(TypeError);
    expect(() => ((record as { position: number }).position = 5)).toThrow(TypeError);
    expect((await store.read({ from: 1 }))[0]).toEqual(record);
    expect(store.get(Vm, value.id)?.data.tags).toEqual(['x']);
  });

  it('returns sorted results from find and list, and finds by several fields', async () => {
    const store = await open();
    await store.transact((tx) => {
      for (const name of ['c', 'a', 'b']) tx.create(Vm, { name, hostId: 'h', memoryMiB: 1 }, { id: `id-${name}` });
      tx.create(Counter, { value: 0 });
    });
    expect(store.list(Vm).map((vm) => vm.id)).toEqual(['id-a', 'id-b', 'id-c']);
    expect(store.find(Vm, { hostId: 'h', name: 'b' }).map((vm) => vm.id)).toEqual(['id-b']);
    expect(store.find(Vm, { hostId: 'other' })).toEqual([]);
    expect(await failure(store.transact((tx) => tx.create(Vm, { name: 'z', memoryMiB: 1 }, { id: 'id-a' })))).toMatchObject({
      code: 'ALREADY_EXISTS',
    });
  });

  it('keeps find sorted by id through updates that keep or change the indexed value, ids out of order, and its own writes', async () => {
    const store = await open();
    await store.transact((tx) => {
      for (const name of ['b', 'd']) tx.create(Vm, { name, hostId: 'h', memoryMiB: 1 }, { id: `id-${name}` });
    });
    await store.transact((tx) => tx.create(Vm, { name: 'a', hostId: 'h', memoryMiB: 1 }, { id: 'id-a' }));
    await store.transact((tx) => tx.update(Vm, 'id-b', { memoryMiB: 2 }));
    await store.transact((tx) => tx.create(Vm, { name: 'e', hostId: 'g', memoryMiB: 1 }, { id: 'id-e' }));
    await store.transact((tx) => tx.update(Vm, 'id-e', { hostId: 'h' }));
    const ids = (host: string) => store.find(Vm, { hostId: host }).map((vm) => `${vm.id}:${vm.data.memoryMiB}`);
    expect(ids('h')).toEqual(['id-a:1', 'id-b:2', 'id-d:1', 'id-e:1']);
    expect(ids('h')).toEqual(['id-a:1', 'id-b:2', 'id-d:1', 'id-e:1']);
    expect(ids('g')).toEqual([]);
    await store.transact((tx) => tx.update(Vm, 'id-a', { hostId: 'g' }));
    expect(ids('h')).toEqual(['id-b:2', 'id-d:1', 'id-e:1']);
    const { value } = await store.transact((tx) => {
      tx.create(Vm, { name: 'c', hostId: 'h', memoryMiB: 3 }, { id: 'id-c' });
      tx.update(Vm, 'id-d', { memoryMiB: 4 });
      tx.delete(Vm, 'id-e');
      return tx.find(Vm, { hostId: 'h' }).map((vm) => `${vm.id}:${vm.data.memoryMiB}`);
    });
    expect(value).toEqual(['id-b:2', 'id-c:3', 'id-d:4']);
    expect(ids('h')).toEqual(['id-b:2', 'id-c:3', 'id-d:4']);
  });
});
