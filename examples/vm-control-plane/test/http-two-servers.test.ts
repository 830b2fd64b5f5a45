import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePostgres, dropSchemas, pgUrl, uniqueSchema } from '../../../test/postgres/pg-test-env.js';
import { readEvents } from './event-reader.js';
import { buildHttpDatacenter, type HttpCall, type HttpClient, type HttpDatacenter } from './http-fixture.js';
import { HttpServerProcess } from './http-server-process.js';

// Two `pnpm serve` processes on one PostgreSQL log (a fresh schema), each with a data folder of
// its own: the simulated hosts' state file is one process's, so each server drives hosts of its
// own, and only the log is shared. That is what this file checks: the API the two answer is
// one, whichever server a call goes to.

interface EntityJson {
  kind: string;
  id: string;
  version: number;
  data: Record<string, unknown>;
}

const entityOf = (call: HttpCall): EntityJson => call.body.entity as EntityJson;
const codeOf = (call: HttpCall): unknown => (call.body.error as { code?: unknown } | undefined)?.code;
const positionOf = (call: HttpCall): number => Number(call.headers.get('ordo-position'));

const schema = uniqueSchema('http_two');
const dirs: string[] = [];
let east: HttpServerProcess;
let west: HttpServerProcess;
let dc: HttpDatacenter;

async function createVm(server: HttpClient, name: string, headers: Record<string, string> = {}): Promise<HttpCall> {
  const call = await server.post('/vms', { name, vcpus: 1, memoryMiB: 1024, hostId: dc.hosts.big }, headers);
  expect(call.status, JSON.stringify(call.body)).toBe(201);
  return call;
}

describePostgres('two server processes on one PostgreSQL log', () => {
  beforeAll(async () => {
    const start = async (): Promise<HttpServerProcess> => {
      const dir = mkdtempSync(join(tmpdir(), 'ordo-http-two-'));
      dirs.push(dir);
      return HttpServerProcess.start({ ORDO_DEMO_DIR: dir, ORDO_HTTP_POSTGRES_URL: pgUrl, ORDO_HTTP_POSTGRES_SCHEMA: schema });
    };
    // One after the other: the first creates the schema's tables.
    east = await start();
    west = await start();
    dc = await buildHttpDatacenter(east);
  });

  afterAll(async () => {
    await Promise.all([east?.stop(), west?.stop()]);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await dropSchemas([schema]);
  });

  it('a create on one server is at once in the other one GETs, lists and ETags', async () => {
    const host = await west.get(`/hosts/${dc.hosts.big}`);
    expect(host.status).toBe(200);
    expect(host.headers.get('etag')).toBe('"1"');
    const created = await createVm(east, 'seen-at-once');
    const vm = entityOf(created);
    const one = await west.get(`/vms/${vm.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(vm);
    expect(one.headers.get('etag')).toBe(created.headers.get('etag'));
    const listed = await west.get('/vms?name=seen-at-once');
    expect((listed.body.items as EntityJson[]).map((item) => item.id)).toEqual([vm.id]);
  });

  it('an If-Match read on one server is honoured by the other, and a stale one refused with 412', async () => {
    const vm = entityOf(await createVm(east, 'if-match'));
    const read = await west.get(`/vms/${vm.id}`);
    const etag = read.headers.get('etag') ?? '';
    const on = await east.post(`/vms/${vm.id}/power-on`, undefined, { 'if-match': etag });
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    expect(on.headers.get('etag')).toBe(`"${vm.version + 1}"`);
    const stale = await west.post(`/vms/${vm.id}/power-off`, undefined, { 'if-match': etag });
    expect(stale.status).toBe(412);
    expect(codeOf(stale)).toBe('VERSION_MISMATCH');
    const fresh = await east.get(`/vms/${vm.id}`);
    const off = await west.post(`/vms/${vm.id}/power-off`, undefined, { 'if-match': fresh.headers.get('etag') ?? '' });
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect(entityOf(off).data.power).toBe('off');
  });

  it('a Request-Id used on one server replays the same response on the other', async () => {
    const first = await createVm(east, 'replayed', { 'request-id': 'two-servers-replayed' });
    const again = await west.post('/vms', { name: 'replayed', vcpus: 1, memoryMiB: 1024, hostId: dc.hosts.big }, { 'request-id': 'two-servers-replayed' });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('ordo-replayed')).toBe('true');
    expect(positionOf(again)).toBe(positionOf(first));
    expect(((await west.get('/vms?name=replayed')).body.items as unknown[]).length).toBe(1);
  });

  it("GET /events on one server streams the other's records, every position once and in order", async () => {
    const created = await createVm(east, 'streamed', { 'request-id': 'two-servers-streamed' });
    const position = positionOf(created);
    const events = await readEvents(west.url, position, {}, '?from=1');
    expect(events.map((event) => Number(event.id))).toEqual(Array.from({ length: position }, (_, index) => index + 1));
    const record = events.find((event) => event.data.requestId === 'two-servers-streamed');
    expect(record?.data.operation).toBe('vm.create');
    expect(record?.data.changes.some((change) => change.kind === 'vm' && change.id === entityOf(created).id)).toBe(true);
  });

  it('power-on on one server and power-off on the other at once end in one serial outcome that both servers show', async () => {
    const vm = entityOf(await createVm(east, 'raced'));
    for (let round = 0; round < 5; round += 1) {
      const [on, off] = await Promise.all([east.post(`/vms/${vm.id}/power-on`), west.post(`/vms/${vm.id}/power-off`)]);
      // The VM is off, so power-on is valid in either order and succeeds. Power-off either ran
      // first (INVALID_STATE: already off), or waited for power-on's hold to be released and
      // ran after it (a higher position), or waited longer than entityBusyWaitMs (ENTITY_BUSY).
      expect(on.status, JSON.stringify(on.body)).toBe(200);
      if (off.status === 200) expect(positionOf(off)).toBeGreaterThan(positionOf(on));
      else {
        expect(off.status).toBe(409);
        expect(['INVALID_STATE', 'ENTITY_BUSY']).toContain(codeOf(off));
        if (codeOf(off) === 'ENTITY_BUSY') expect(Number(off.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      const power = off.status === 200 ? 'off' : 'on';
      const [fromEast, fromWest] = await Promise.all([east.get(`/vms/${vm.id}`), west.get(`/vms/${vm.id}`)]);
      expect(fromWest.body).toEqual(fromEast.body);
      expect(fromWest.headers.get('etag')).toBe(fromEast.headers.get('etag'));
      expect((fromEast.body as unknown as EntityJson).data.power).toBe(power);
      if (power === 'on') expect((await east.post(`/vms/${vm.id}/power-off`)).status).toBe(200);
    }
  });
});
