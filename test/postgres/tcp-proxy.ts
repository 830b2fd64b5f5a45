import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A real TCP proxy in front of PostgreSQL (or an etcd member), so a test can break a connection at a chosen
 * moment: before the server's answer arrives (the statement may have committed) or while a
 * statement waits (it has not).
 */
export class TcpProxy {
  private readonly pairs = new Set<{ client: Socket; server: Socket }>();
  private loseNext = false;
  private dropNext = false;
  private swallowing = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy: { value?: TcpProxy } = {};
    const server = createServer((client) => proxy.value!.pipe(client, connect(targetPort, targetHost)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    proxy.value = new TcpProxy(server, address.port);
    return proxy.value;
  }

  /** The next bytes any server sends are dropped and that connection is cut. */
  loseNextAnswer(): void {
    this.loseNext = true;
  }

  /**
   * For `ms`, every byte servers send is dropped (requests still arrive and are answered), then
   * every connection is cut: the answers of whatever was in flight are lost.
   */
  async swallowAnswersThenCut(ms: number): Promise<void> {
    this.swallowing = true;
    await new Promise((resolve) => setTimeout(resolve, ms));
    this.swallowing = false;
    this.cutAll();
  }

  /** The next bytes any client sends never reach the server, and that connection is cut. */
  dropNextRequest(): void {
    this.dropNext = true;
  }

  /** Cuts every connection now, as a network failure would. */
  cutAll(): void {
    for (const pair of this.pairs) this.cut(pair);
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private pipe(client: Socket, server: Socket): void {
    const pair = { client, server };
    this.pairs.add(pair);
    client.on('data', (chunk) => {
      if (this.dropNext) {
        this.dropNext = false;
        this.cut(pair);
        return;
      }
      server.write(chunk);
    });
    server.on('data', (chunk) => {
      if (this.loseNext) {
        this.loseNext = false;
        this.cut(pair);
        return;
      }
      if (!this.swallowing) client.write(chunk);
    });
    for (const socket of [client, server]) {
      socket.on('error', () => this.cut(pair));
      socket.on('close', () => this.cut(pair));
    }
  }

  private cut(pair: { client: Socket; server: Socket }): void {
    this.pairs.delete(pair);
    pair.client.destroy();
    pair.server.destroy();
  }
}
