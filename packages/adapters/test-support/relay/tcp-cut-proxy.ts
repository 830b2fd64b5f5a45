import { connect, createServer, type Server, type Socket } from 'node:net';

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Bytes from the client held back while `holdUp` is set. */
  readonly heldUp: Buffer[];
  /** The client side was cut alone: the upstream side stays as it is. */
  detached: boolean;
  /** What the target sends is swallowed: a link gone silent one way. */
  silenced: boolean;
  /** The target closed the upstream side (the proxy did not). */
  closedByTarget: boolean;
}

/**
 * A TCP proxy in front of a relay leader, to break links on real sockets. `cut()` destroys
 * every connection through it (new ones still pass). `holdUp` holds back what clients send,
 * as a network that delays it; `cutClients()` then breaks only the client side, leaving the
 * target's side open with those bytes still to come, and `flushHeld()` delivers them late.
 * `silenceCurrent()` swallows what the target sends over the open connections.
 */
export class TcpCutProxy {
  private readonly server: Server;
  private readonly pairs = new Set<Pair>();
  private readonly cutAway: Pair[] = [];
  /** Where connections go, `host:port`: set before the first client connects. */
  target: string | undefined;
  holdUp = false;
  connections = 0;

  private constructor() {
    this.server = createServer((client) => this.accept(client));
  }

  static async start(): Promise<{ proxy: TcpCutProxy; address: string }> {
    const proxy = new TcpCutProxy();
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    const address = proxy.server.address();
    if (address === null || typeof address !== 'object') throw new Error('proxy has no address');
    return { proxy, address: `127.0.0.1:${address.port}` };
  }

  /** Destroys every connection, both sides. */
  cut(): void {
    for (const pair of [...this.pairs]) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
  }

  /** Swallows from now on what the target sends over the connections open now (new ones pass). */
  silenceCurrent(): void {
    for (const pair of this.pairs) pair.silenced = true;
  }

  /** Destroys the client side of every connection; the target's side stays open. */
  cutClients(): void {
    for (const pair of [...this.pairs]) {
      pair.detached = true;
      this.pairs.delete(pair);
      this.cutAway.push(pair);
      pair.client.destroy();
    }
  }

  /** The connections cut by `cutClients` whose target side the target has closed since. */
  get closedByTarget(): number {
    return this.cutAway.filter((pair) => pair.closedByTarget).length;
  }

  /** How many bytes are held back now. */
  get heldUpBytes(): number {
    let bytes = 0;
    for (const pair of [...this.pairs, ...this.cutAway]) for (const chunk of pair.heldUp) bytes += chunk.length;
    return bytes;
  }

  /** Writes the bytes held back from the cut-away clients to their target side, if still open. */
  flushHeld(): number {
    let written = 0;
    for (const pair of this.cutAway) {
      for (const chunk of pair.heldUp.splice(0)) {
        if (pair.upstream.destroyed || !pair.upstream.writable) continue;
        pair.upstream.write(chunk);
        written += chunk.length;
      }
    }
    return written;
  }

  async close(): Promise<void> {
    this.cut();
    for (const pair of this.cutAway) pair.upstream.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.connections += 1;
    const target = this.target ?? '127.0.0.1:1';
    const colon = target.lastIndexOf(':');
    const upstream = connect({ host: target.slice(0, colon), port: Number(target.slice(colon + 1)) });
    const pair: Pair = { client, upstream, heldUp: [], detached: false, silenced: false, closedByTarget: false };
    this.pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      if (this.holdUp) pair.heldUp.push(chunk);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!pair.detached && !pair.silenced) client.write(chunk);
    });
    const clientGone = (): void => {
      if (pair.detached) return;
      this.pairs.delete(pair);
      upstream.destroy();
    };
    const upstreamGone = (): void => {
      pair.closedByTarget = true;
      this.pairs.delete(pair);
      client.destroy();
    };
    client.on('close', clientGone);
    client.on('error', clientGone);
    upstream.on('end', upstreamGone);
    upstream.on('close', upstreamGone);
    upstream.on('error', () => undefined);
  }
}
