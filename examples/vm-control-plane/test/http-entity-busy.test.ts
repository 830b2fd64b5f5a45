import { afterEach, beforeEach, expect, it } from 'vitest';
import { SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { buildHttpDatacenter, HttpFixture, type HttpDatacenter } from './http-fixture.js';

// ENTITY_BUSY for real: the hosts are slow to start a VM, so a power-on stays unsettled (its
// hold on the VM in the log) long enough for a power-off of the same VM to arrive, and the
// runtime waits 0 ms for a held entity, so that power-off is refused at once.
const hostLatencyMs = 1_500;
const pollsMax = 100;

let http: HttpFixture;
let dc: HttpDatacenter;

beforeEach(async () => {
  http = new HttpFixture();
  await http.start({ runtime: { entityBusyWaitMs: 0 }, hypervisor: new SimulatedHypervisor() });
  dc = await buildHttpDatacenter(http);
});

afterEach(async () => {
  await http.cleanup();
});

interface EntityJson {
  id: string;
  version: number;
  data: { power: string };
}

it('a call on a VM that an unsettled operation holds answers 409 ENTITY_BUSY with the holder and Retry-After, and writes nothing', async () => {
  const created = await http.post('/vms', { name: 'held', vcpus: 1, memoryMiB: 1024, hostId: dc.hosts.big });
  expect(created.status).toBe(201);
  const vm = created.body.entity as EntityJson;
  http.service?.hypervisor.setLatency(hostLatencyMs);
  const powerOn = http.post(`/vms/${vm.id}/power-on`, undefined, { 'request-id': 'hold-the-vm' });
  // The power-on is committed (the VM reads 'on') while the host is still starting it.
  let read = await http.get(`/vms/${vm.id}`);
  for (let poll = 0; poll < pollsMax && (read.body as unknown as EntityJson).data.power !== 'on'; poll += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    read = await http.get(`/vms/${vm.id}`);
  }
  const held = read.body as unknown as EntityJson;
  expect(held.data.power).toBe('on');

  const busy = await http.post(`/vms/${vm.id}/power-off`);
  expect(busy.status).toBe(409);
  expect(busy.headers.get('retry-after')).toBe('1');
  expect(busy.body.error).toMatchObject({
    code: 'ENTITY_BUSY',
    step: 'plan',
    entity: { kind: 'vm', id: vm.id },
    details: { operation: 'vm.powerOn', requestId: 'hold-the-vm' },
  });
  expect(typeof (busy.body.error as { details: { position: unknown } }).details.position).toBe('number');
  expect((await http.get(`/vms/${vm.id}`)).headers.get('etag')).toBe(`"${held.version}"`);

  // Once the power-on settled, the same call goes through.
  expect((await powerOn).status).toBe(200);
  http.service?.hypervisor.setLatency(0);
  const off = await http.post(`/vms/${vm.id}/power-off`);
  expect(off.status, JSON.stringify(off.body)).toBe(200);
  expect((off.body.entity as EntityJson).data.power).toBe('off');
});
