import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildHttpDatacenter, HttpFixture, testToken, type HttpDatacenter } from './http-fixture.js';

const gibibyte = 1024 ** 3;

interface EntityJson {
  kind: string;
  id: string;
  version: number;
  data: Record<string, unknown>;
}

const entityOf = (body: Record<string, unknown>): EntityJson => body.entity as EntityJson;
const errorOf = (body: Record<string, unknown>): Record<string, unknown> => body.error as Record<string, unknown>;

let http: HttpFixture;
let dc: HttpDatacenter;

beforeEach(async () => {
  http = new HttpFixture();
  await http.start();
  dc = await buildHttpDatacenter(http);
});

afterEach(async () => {
  await http.cleanup();
});

async function createVm(name: string, extra: Record<string, unknown> = {}): Promise<EntityJson> {
  const call = await http.post('/vms', { name, vcpus: 2, memoryMiB: 2048, ...extra });
  expect(call.status, JSON.stringify(call.body)).toBe(201);
  return entityOf(call.body);
}

describe('resources', () => {
  it('lists each collection, gets one with its ETag, and answers 404 NOT_FOUND for an unknown id', async () => {
    for (const path of ['hosts', 'storage-containers', 'subnets', 'volumes', 'vms']) {
      const list = await http.get(`/${path}`);
      expect(list.status).toBe(200);
      expect(list.body).toHaveProperty('items');
    }
    const hosts = await http.get('/hosts');
    expect((hosts.body.items as EntityJson[]).map((host) => host.data.name)).toEqual(expect.arrayContaining(['big', 'small']));
    const one = await http.get(`/hosts/${dc.hosts.big}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ kind: 'host', id: dc.hosts.big, version: 1, data: { name: 'big', memoryMiB: 65_536 } });
    expect(one.headers.get('etag')).toBe('"1"');
    const missing = await http.get('/vms/nope');
    expect(missing.status).toBe(404);
    expect(errorOf(missing.body)).toMatchObject({ code: 'NOT_FOUND', entity: { kind: 'vm', id: 'nope' } });
  });

  it('filters on indexed fields, refuses others with NOT_INDEXED, and pages by cursor without gaps or repeats', async () => {
    for (const name of ['a', 'b', 'c', 'd', 'e']) await createVm(name, { hostId: name === 'e' ? dc.hosts.small : dc.hosts.big });
    const onBig = await http.get(`/vms?hostId=${dc.hosts.big}`);
    expect((onBig.body.items as EntityJson[]).map((vm) => vm.data.name).sort()).toEqual(['a', 'b', 'c', 'd']);
    const byName = await http.get('/vms?name=e');
    expect((byName.body.items as EntityJson[]).map((vm) => vm.data.hostId)).toEqual([dc.hosts.small]);
    const notIndexed = await http.get('/vms?power=on');
    expect(notIndexed.status).toBe(400);
    expect(errorOf(notIndexed.body)).toMatchObject({ code: 'NOT_INDEXED' });
    const badLimit = await http.get('/vms?limit=0');
    expect(badLimit.status).toBe(400);
    expect(errorOf(badLimit.body).code).toBe('INVALID_ARGUMENT');

    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page += 1) {
      const call = await http.get(`/vms?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`);
      seen.push(...(call.body.items as EntityJson[]).map((vm) => vm.id));
      cursor = call.body.nextCursor as string | null;
      if (cursor === null) break;
    }
    const all = ((await http.get('/vms')).body.items as EntityJson[]).map((vm) => vm.id);
    expect(all).toHaveLength(5);
    expect(seen).toEqual(all);
  });
});

describe('operations', () => {
  it('runs every operation as a POST and answers with the entity after it and its ETag', async () => {
    const volume = await http.post('/volumes', { name: 'data-1', containerId: dc.container, sizeBytes: gibibyte });
    expect(volume.status).toBe(201);
    const volumeId = entityOf(volume.body).id;
    const resized = await http.post(`/volumes/${volumeId}/resize`, { sizeBytes: 2 * gibibyte });
    expect(resized.status).toBe(200);
    expect(entityOf(resized.body)).toMatchObject({ version: 2, data: { sizeBytes: 2 * gibibyte } });
    expect(resized.headers.get('etag')).toBe('"2"');

    const vm = await createVm('web-1', { newDisks: [{ name: 'web-1-root', containerId: dc.container, sizeBytes: gibibyte }], nics: [{ subnetId: dc.subnet }] });
    expect(vm).toMatchObject({ kind: 'vm', data: { name: 'web-1', power: 'off', nics: [{ ip: '10.0.0.10' }] } });
    const on = await http.post(`/vms/${vm.id}/power-on`);
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ entity: { data: { power: 'on' } }, result: { hostId: dc.hosts.big } });
    expect(http.service?.hypervisor.domains().find((domain) => domain.id === vm.id)?.state).toBe('running');
    const attached = await http.post(`/vms/${vm.id}/attach-disk`, { volumeId });
    expect((entityOf(attached.body).data.disks as string[]).includes(volumeId)).toBe(true);
    const detached = await http.post(`/vms/${vm.id}/detach-disk`, { volumeId });
    expect((entityOf(detached.body).data.disks as string[]).includes(volumeId)).toBe(false);
    expect((await http.post(`/volumes/${volumeId}/delete`)).body).toMatchObject({ entity: null, deleted: { kind: 'volume', id: volumeId } });
    const migrated = await http.post(`/vms/${vm.id}/migrate`, { targetHostId: dc.hosts.small });
    expect(migrated.status).toBe(200);
    expect(entityOf(migrated.body).data.hostId).toBe(dc.hosts.small);
    expect(entityOf((await http.post(`/vms/${vm.id}/power-off`)).body).data.power).toBe('off');
    const maintenance = await http.post(`/hosts/${dc.hosts.big}/enter-maintenance`);
    expect(entityOf(maintenance.body).data.maintenance).toBe(true);
    expect(entityOf((await http.post(`/hosts/${dc.hosts.big}/exit-maintenance`)).body).data.maintenance).toBe(false);
    const deleted = await http.post(`/vms/${vm.id}/delete`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ entity: null, deleted: { kind: 'vm', id: vm.id }, result: { releasedIps: ['10.0.0.10'] } });
    expect((await http.get(`/vms/${vm.id}`)).status).toBe(404);
  });

  it('answers each refusal with its own code, step, entity, details and status, and writes nothing', async () => {
    const vm = await createVm('heavy', { memoryMiB: 8192, hostId: dc.hosts.small, nics: [{ subnetId: dc.subnet, ip: '10.0.0.15' }] });
    const position = http.service?.plane.store.position;

    const memory = await http.post(`/vms/${vm.id}/power-on`);
    expect(memory.status).toBe(409);
    expect(errorOf(memory.body)).toMatchObject({ code: 'INSUFFICIENT_HOST_MEMORY', step: 'plan', entity: { kind: 'vm', id: vm.id }, details: { requested: 8192, available: 4096 } });

    const ip = await http.post('/vms', { name: 'other', vcpus: 1, memoryMiB: 512, nics: [{ subnetId: dc.subnet, ip: '10.0.0.15' }] });
    expect(ip.status).toBe(409);
    expect(errorOf(ip.body)).toMatchObject({ code: 'IP_ALREADY_IN_USE', step: 'plan' });

    const unknownField = await http.post('/vms', { name: 'x', vcpus: 1, memoryMiB: 512, colour: 'red' });
    expect(unknownField.status).toBe(400);
    expect(errorOf(unknownField.body)).toMatchObject({ code: 'VALIDATION_FAILED', step: 'validate', details: { issues: [{ code: 'unrecognized_keys' }] } });

    const wrongType = await http.post('/hosts', { name: 'h', cpuThreads: 'four', memoryMiB: 1 });
    expect(wrongType.status).toBe(400);
    expect(errorOf(wrongType.body)).toMatchObject({ code: 'VALIDATION_FAILED', details: { issues: [{ path: ['cpuThreads'] }] } });

    const missing = await http.post('/vms/nope/power-on');
    expect(missing.status).toBe(404);
    expect(errorOf(missing.body)).toMatchObject({ code: 'VM_NOT_FOUND', entity: { kind: 'vm', id: 'nope' } });

    const name = await http.post('/hosts', { name: 'big', cpuThreads: 1, memoryMiB: 1 });
    expect(name.status).toBe(409);
    expect(errorOf(name.body).code).toBe('NAME_CONFLICT');

    const idInBody = await http.post(`/vms/${vm.id}/power-on`, { vmId: vm.id });
    expect(idInBody.status).toBe(400);

    const route = await http.post('/vms/x/reboot');
    expect(route.status).toBe(404);
    expect(errorOf(route.body)).toMatchObject({ code: 'ROUTE_NOT_FOUND', step: 'request' });

    expect(http.service?.plane.store.position).toBe(position);
  });

  it('answers an adapter failure after compensation with 502, naming the adapter, and leaves the VM as it was', async () => {
    const vm = await createVm('flaky', { hostId: dc.hosts.big });
    http.service?.hypervisor.failNextApply('flaky', 'agent: connection reset');
    const failed = await http.post(`/vms/${vm.id}/power-on`);
    expect(failed.status).toBe(502);
    expect(errorOf(failed.body)).toMatchObject({ code: 'ADAPTER_FAILED', step: 'apply', adapter: 'hypervisor', entity: { kind: 'vm', id: vm.id } });
    expect(((await http.get(`/vms/${vm.id}`)).body.data as { power: string }).power).toBe('off');
  });
});

describe('If-Match', () => {
  it('runs the action at the version named and refuses a stale one with 412 VERSION_MISMATCH, writing nothing', async () => {
    const vm = await createVm('pinned');
    const etag = (await http.get(`/vms/${vm.id}`)).headers.get('etag') ?? '';
    const on = await http.post(`/vms/${vm.id}/power-on`, undefined, { 'if-match': etag });
    expect(on.status).toBe(200);
    expect(on.headers.get('etag')).toBe(`"${vm.version + 1}"`);
    const position = http.service?.plane.store.position;
    const stale = await http.post(`/vms/${vm.id}/power-off`, undefined, { 'if-match': etag });
    expect(stale.status).toBe(412);
    expect(errorOf(stale.body)).toMatchObject({ code: 'VERSION_MISMATCH', entity: { kind: 'vm', id: vm.id }, details: { expected: vm.version, actual: vm.version + 1 } });
    expect(http.service?.plane.store.position).toBe(position);
    const garbled = await http.post(`/vms/${vm.id}/power-off`, undefined, { 'if-match': 'yesterday' });
    expect(garbled.status).toBe(400);
    expect(errorOf(garbled.body).code).toBe('INVALID_IF_MATCH');
  });
});

describe('Request-Id', () => {
  it('answers a retry with the first response, also after a restart, without running the operation again', async () => {
    const body = { name: 'once', vcpus: 1, memoryMiB: 1024 };
    const first = await http.post('/vms', body, { 'request-id': 'create-once' });
    expect(first.status).toBe(201);
    const vmId = entityOf(first.body).id;
    // The entity changes after the first response; the replay still answers as the first time.
    expect((await http.post(`/vms/${vmId}/power-on`)).status).toBe(200);
    const again = await http.post('/vms', body, { 'request-id': 'create-once' });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('ordo-replayed')).toBe('true');

    await http.restart();
    const afterRestart = await http.post('/vms', body, { 'request-id': 'create-once' });
    expect(afterRestart.status).toBe(201);
    expect(afterRestart.body).toEqual(first.body);
    expect(afterRestart.headers.get('etag')).toBe(first.headers.get('etag'));
    const vms = (await http.get('/vms?name=once')).body.items as EntityJson[];
    expect(vms).toHaveLength(1);
    expect(vms[0]?.data.power).toBe('on');
  });

  it('replays an apply failure with the same 502 after a restart', async () => {
    const vm = await createVm('flaky');
    await http.post(`/vms/${vm.id}/migrate`, { targetHostId: dc.hosts.big }).catch(() => undefined);
    http.service?.hypervisor.failNextApply('flaky', 'agent: connection reset');
    const failed = await http.post(`/vms/${vm.id}/power-on`, undefined, { 'request-id': 'on-flaky' });
    expect(failed.status).toBe(502);
    await http.restart();
    const replayed = await http.post(`/vms/${vm.id}/power-on`, undefined, { 'request-id': 'on-flaky' });
    expect(replayed.status).toBe(502);
    expect(replayed.body).toEqual(failed.body);
  });
});

describe('security', () => {
  it('refuses a mutating call without the right bearer token with 401 UNAUTHENTICATED, and reads need none', async () => {
    const position = http.service?.plane.store.position;
    const none = await http.call('POST', '/hosts', { name: 'x', cpuThreads: 1, memoryMiB: 1 }, { 'content-type': 'application/json' });
    expect(none.status).toBe(401);
    expect(errorOf(none.body)).toMatchObject({ code: 'UNAUTHENTICATED', step: 'request' });
    const wrong = await http.post('/hosts', { name: 'x', cpuThreads: 1, memoryMiB: 1 }, { authorization: `Bearer ${testToken}x` });
    expect(wrong.status).toBe(401);
    expect(http.service?.plane.store.position).toBe(position);
    expect((await http.call('GET', '/hosts')).status).toBe(200);
  });

  it('refuses a body over the limit with 413 BODY_TOO_LARGE, bad JSON with 400 INVALID_JSON, another media type with 415', async () => {
    const big = await http.post('/hosts', { name: 'x'.repeat(70 * 1024), cpuThreads: 1, memoryMiB: 1 });
    expect(big.status).toBe(413);
    expect(errorOf(big.body)).toMatchObject({ code: 'BODY_TOO_LARGE', step: 'request' });
    const bad = await http.post('/hosts', '{"name": ');
    expect(bad.status).toBe(400);
    expect(errorOf(bad.body).code).toBe('INVALID_JSON');
    const text = await http.call('POST', '/hosts', 'name=x', { authorization: `Bearer ${testToken}`, 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(errorOf(text.body).code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('the status table', () => {
  it('documents every code of the status mapping in the README, with the same status', async () => {
    const { readFileSync } = await import('node:fs');
    const { statusByCode } = await import('../src/http/error-status.js');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const [code, status] of Object.entries(statusByCode)) expect(readme, code).toContain(`| \`${code}\` | ${status} |`);
  });
});
