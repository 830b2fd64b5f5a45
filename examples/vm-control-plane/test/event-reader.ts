import { expect } from 'vitest';

export interface StreamedEvent {
  readonly id: string;
  readonly event: string;
  readonly data: { position: number; requestId?: string; operation?: string; changes: { op: string; kind: string; id: string; data?: { name?: string } }[] };
}

/** Reads server-sent events from `<url>/events` until `count` records came, then disconnects. */
export async function readEvents(url: string, count: number, headers: Record<string, string> = {}, query = ''): Promise<StreamedEvent[]> {
  const abort = new AbortController();
  const response = await fetch(`${url}/events${query}`, { headers, signal: abort.signal });
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
