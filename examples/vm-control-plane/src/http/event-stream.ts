import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LogRecord, Store } from '@ordo/core';
import { errorResponse } from './error-body.js';
import { HttpRequestError } from './http-error.js';

/** How often an idle stream gets a comment line, so that proxies and clients keep it open. */
export const eventHeartbeatMs = 15_000;

/**
 * Where a stream starts: after `Last-Event-ID` (a reconnecting client), else at `?from=`
 * (1 for the whole history), else after the log's head (new records only).
 */
function startOf(request: FastifyRequest, store: Store): number {
  const header = request.headers['last-event-id'];
  const from = (request.query as { from?: unknown }).from;
  if (header !== undefined) {
    const last = Array.isArray(header) ? Number.NaN : Number(header);
    if (!Number.isSafeInteger(last) || last < 0) throw new HttpRequestError('INVALID_ARGUMENT', 'Last-Event-ID must be a log position', { field: 'Last-Event-ID', value: header });
    return last + 1;
  }
  if (from !== undefined) {
    const first = typeof from === 'string' ? Number(from) : Number.NaN;
    if (!Number.isSafeInteger(first) || first < 1) throw new HttpRequestError('INVALID_ARGUMENT', 'from must be a log position >= 1', { field: 'from', value: from });
    return first;
  }
  return store.position + 1;
}

/** One record as a server-sent event: its id is the log position, so `Last-Event-ID` resumes after it. */
export function recordEvent(record: LogRecord): string {
  return `id: ${record.position}\nevent: record\ndata: ${JSON.stringify(record)}\n\n`;
}

/**
 * `GET /events`: every record of the log from the start position on, once each and in order
 * (the store's watch, I9), as server-sent events. The streams end when the server closes.
 */
export function registerEventStream(app: FastifyInstance, store: Store): void {
  const open = new Map<() => void, FastifyReply>();
  // A stream never goes idle, so the server's close would wait for it: end every one first.
  app.addHook('preClose', async () => {
    for (const [end, reply] of open) {
      end();
      reply.raw.destroy();
    }
  });
  app.get('/events', async (request, reply) => {
    // Caught up first, so that "new records only" starts after every record acknowledged anywhere before the request.
    await store.sync();
    const from = startOf(request, store);
    const watcher = store.watch({ from });
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    reply.raw.write(': ordo events\n\n');
    const end = (): void => {
      void watcher.return?.();
    };
    open.set(end, reply);
    // The response's close (not the request's, which fires once its body is read) is the client going away.
    reply.raw.on('close', end);
    const heartbeat = setInterval(() => reply.raw.write(': heartbeat\n\n'), eventHeartbeatMs);
    try {
      await pump(watcher, reply);
    } catch (error) {
      // Headers are sent: the failure (pruned history, a closed store) goes out as an event.
      reply.raw.write(`event: error\ndata: ${JSON.stringify(errorResponse(error).body)}\n\n`);
    } finally {
      clearInterval(heartbeat);
      open.delete(end);
      reply.raw.end();
    }
  });
}

/** Writes records as they come, waiting for the socket to drain so a slow client holds no unbounded buffer. */
async function pump(watcher: AsyncIterableIterator<LogRecord>, reply: FastifyReply): Promise<void> {
  for await (const record of watcher) {
    if (reply.raw.destroyed) return;
    if (!reply.raw.write(recordEvent(record))) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          reply.raw.off('drain', done);
          reply.raw.off('close', done);
          resolve();
        };
        reply.raw.on('drain', done);
        reply.raw.on('close', done);
      });
    }
  }
}
