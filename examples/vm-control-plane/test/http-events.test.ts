import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpFixture } from './http-fixture.js';

interface StreamedEvent {
  readonly id: string;
  readonly event: string;
  readonly data: { position: number; operation?: string; changes: { op: string; kind: string; id: string; data?: { name?: string } }[] };
}

/** Reads server-sent events from `/events` until `count` records came, then disconnects. */
async function readEvents(http: HttpFixture, count: number, headers: Record<string, string> = {}, query = ''): Promise<StreamedEvent[]> {
  const abort = new AbortController();
  const response = await fetch(`${http.url}/events${query}`, { headers, signal: abort.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: StreamedEvent[] = [];
  let text = '';
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    let end = text.indexOf('\n\n');
    while (end !== -1 && events.length < count) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      end = text.indexOf('\n\n');
      const fields = new Map(block.split('\n').filter((line) => !line.startsWith(':')).map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)] as const));
      if (fields.size === 0) continue;
      events.push({ id: fields.get('id') ?? '', event: fields.get('event') ?? '', data: JSON.parse(fields.get('data') ?? 'null') as StreamedEvent['data'] });
    }
  }
  abort.abort();
  return events;
}

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
    const reading = readEvents(http, 2);
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
    const first = await readEvents(http, 2, {}, '?from=1');
    expect(first.map((event) => Number(event.id))).toEqual([1, 2]);
    // While the client is away, more is written and the server restarts.
    await addHost('d');
    await http.restart();
    await addHost('e');
    const head = http.service?.plane.store.position ?? 0;
    const rest = await readEvents(http, head - 2, { 'last-event-id': first.at(-1)?.id ?? '' });
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
