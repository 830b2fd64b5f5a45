import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HttpClient, testToken } from './http-fixture.js';

const exampleDir = fileURLToPath(new URL('..', import.meta.url));
/** How long a server may take to open its log and listen. */
const startMsMax = 30_000;
const stopMsMax = 15_000;

/**
 * `pnpm serve` in a process of its own (`src/http/serve.ts` from the sources, configured by
 * environment as an operator would), on a free port with the test token. Its output is kept
 * for the error when it does not start.
 */
export class HttpServerProcess extends HttpClient {
  private address: string | undefined;
  private output = '';

  private constructor(private readonly child: ChildProcess) {
    super();
  }

  /** Starts a server with `env` (ORDO_DEMO_DIR, ORDO_HTTP_POSTGRES_URL...) and resolves once it listens. */
  static async start(env: Record<string, string>): Promise<HttpServerProcess> {
    const child = spawn(process.execPath, ['--conditions=@ordo/source', '--import', 'tsx', 'src/http/serve.ts'], {
      cwd: exampleDir,
      env: { ...process.env, ORDO_HTTP_HOST: '127.0.0.1', ORDO_HTTP_PORT: '0', ORDO_HTTP_TOKEN: testToken, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new HttpServerProcess(child);
    await server.listening();
    return server;
  }

  get url(): string {
    if (this.address === undefined) throw new Error('the server process has not started');
    return this.address;
  }

  private listening(): Promise<void> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => fail(new Error(`the server did not start within ${startMsMax} ms`)), startMsMax);
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.child.kill('SIGKILL');
        reject(new Error(`${error.message}; its output:\n${this.output}`));
      };
      const read = (chunk: Buffer): void => {
        this.output += chunk.toString();
        const found = /API on (http:\/\/\S+)/.exec(this.output);
        if (found !== null && !settled) {
          settled = true;
          this.address = found[1];
          clearTimeout(timer);
          resolve();
        }
      };
      this.child.stdout?.on('data', read);
      this.child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
      this.child.once('exit', (code, signal) => fail(new Error(`the server exited (${code ?? signal})`)));
    });
  }

  /** SIGTERM (the server closes its runtime and log), SIGKILL when it has not exited in time. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), stopMsMax);
    await exited;
    clearTimeout(timer);
  }
}
