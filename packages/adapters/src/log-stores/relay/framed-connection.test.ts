import { createServer, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from './frame-codec.js';
import { FramedConnection } from './framed-connection.js';
import type { RelayMessage } from './relay-messages.js';

const limits = { store: 'test', frameBytesMax: 1024 * 1024, writeBufferBytesMax: 64 * 1024 };

/** Two ends of one loopback TCP connection: `sender` framed, `receiver` collecting what arrives and in how many chunks. */
async function pair(): Promise<{ sender: FramedConnection; received: RelayMessage[]; chunks: () => number; closed: Promise<Error | undefined> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const remote = await accepted;
  server.close();
  sockets.push(socket, remote);
  const received: RelayMessage[] = [];
  let chunkCount = 0;
  remote.on('data', () => (chunkCount += 1));
  new FramedConnection(remote, limits, { onMessage: (message) => received.push(message), onClose: () => undefined });
  let reportClose: (reason: Error | undefined) => void = () => undefined;
  const closed = new Promise<Error | undefined>((resolve) => (reportClose = resolve));
  const sender = new FramedConnection(socket, limits, { onMessage: () => undefined, onClose: (reason) => reportClose(reason) });
  return { sender, received, chunks: () => chunkCount, closed };
}

const sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

const welcome = (term: string): Buffer => encodeFrame({ type: 'welcome', term }, limits);

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

describe('framed connection: deferred frames', () => {
  it('sends deferred frames before a frame sent at once, in order, in one write', async () => {
    const { sender, received, chunks } = await pair();
    sender.defer(welcome('a'), 10_000);
    sender.defer(welcome('b'), 10_000);
    // Nothing goes out before the delay or the next frame sent at once.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(received).toEqual([]);
    sender.send({ type: 'welcome', term: 'c' });
    await until(() => received.length === 3);
    expect(received.map((message) => (message as { term: string }).term)).toEqual(['a', 'b', 'c']);
    expect(chunks()).toBe(1);
  });

  it('sends deferred frames by themselves once the delay passed', async () => {
    const { sender, received } = await pair();
    sender.defer(welcome('a'), 5);
    sender.defer(welcome('b'), 5);
    await until(() => received.length === 2);
    expect(received.map((message) => (message as { term: string }).term)).toEqual(['a', 'b']);
  });

  it('counts deferred bytes against writeBufferBytesMax: past it the connection closes, and nothing deferred is sent', async () => {
    const { sender, received, closed } = await pair();
    const big = encodeFrame({ type: 'refused', reason: 'x'.repeat(20 * 1024) }, limits);
    sender.defer(big, 5);
    sender.defer(big, 5);
    sender.defer(big, 5);
    sender.defer(big, 5);
    expect(sender.closed).toBe(true);
    expect((await closed)?.message).toMatch(/more than writeBufferBytesMax/);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(received).toEqual([]);
  });

  it('counts deferred bytes for a frame sent at once too', async () => {
    const { sender, received, closed } = await pair();
    const big = encodeFrame({ type: 'refused', reason: 'x'.repeat(20 * 1024) }, limits);
    for (let index = 0; index < 3; index += 1) sender.defer(big, 10_000);
    expect(sender.closed).toBe(false);
    sender.sendFrame(big);
    expect(sender.closed).toBe(true);
    expect((await closed)?.message).toMatch(/more than writeBufferBytesMax/);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(received).toEqual([]);
  });
});
