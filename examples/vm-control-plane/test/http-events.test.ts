import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readEvents } from './event-reader.js';
import { HttpFixture } from './http-fixture.js';

let http: HttpFixture;

beforeEach(async () => {
  http = new HttpFixture();
  await http.start();
});

afterEach(async () => {
  await http.cleanup();
});

const addHost = async (name: string): Promise<void> => {
  expect((await http.post('/hosts', { name, cpuThreads: 2, memoryMiB: 2048 })).status).toBe(201);
};

describe('GET /events', () => {
  it('streams each new record as an event whose id is its log position', async () => {
    const head = http.service?.plane.store.position ?? 0;
    const reading = readEvents(http.url, 2);
    // The stream starts after the head at connection time; give it a moment to be attached.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await addHost('live-1');
    await addHost('live-2');
    const events = await reading;
    expect(events.map((event) => Number(event.id))).toEqual([head + 1, head + 2]);
    expect(events.every((event) => event.event === 'record' && event.data.changes.some((change) => change.kind === 'host'))).toBe(true);
    expect(events.map((event) => event.data.position)).toEqual([head + 1, head + 2]);
  });

  it('resumes after Last-Event-ID, across a restart too, so a client that reconnects misses nothing', async () => {
    for (const name of ['a', 'b', 'c']) await addHost(name);
    const first = await readEvents(http.url, 2, {}, '?from=1');
    expect(first.map((event) => Number(event.id))).toEqual([1, 2]);
    // While the client is away, more is written and the server restarts.
    await addHost('d');
    await http.restart();
    await addHost('e');
    const head = http.service?.plane.store.position ?? 0;
    const rest = await readEvents(http.url, head - 2, { 'last-event-id': first.at(-1)?.id ?? '' });
    const positions = [...first, ...rest].map((event) => Number(event.id));
    expect(positions).toEqual(Array.from({ length: head }, (_, index) => index + 1));
    // Every host written, before and after the restart, came through the two streams.
    const hosts = [...first, ...rest].flatMap((event) => event.data.changes.filter((change) => change.kind === 'host' && change.op === 'create').map((change) => change.data?.name));
    expect(hosts).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('refuses a Last-Event-ID that is not a position with 400 INVALID_ARGUMENT', async () => {
    const call = await http.call('GET', '/events', undefined, { 'last-event-id': 'abc' });
    expect(call.status).toBe(400);
    expect((call.body.error as { code: string }).code).toBe('INVALID_ARGUMENT');
  });
});
