import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ServerRequest, ServerResponse } from './store-server.js';

type RequestBody = ServerRequest extends infer Request ? (Request extends ServerRequest ? Omit<Request, 'id'> : never) : never;

/** The answer to a request: a value, a typed error code, or `gone` when the child died first. */
export type ChildAnswer = { readonly value: unknown } | { readonly error: { readonly code: string; readonly message: string } } | { readonly gone: true };

/** Longest wait for a child to print `ready` (tsx compiles on start). */
const readyTimeoutMs = 30_000;
// How long a server may take to close its store and exit before it is killed.
const closeWaitMs = 15_000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** A store-server.ts child process, driven over its stdin and stdout. */
export class StoreChild {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr = '';
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, (answer: ChildAnswer) => void>();
  private nextId = 1;
  private readyResolve: (() => void) | undefined;
  private readonly ready: Promise<void>;

  constructor(args: readonly string[]) {
    const path = fileURLToPath(new URL('./store-server.ts', import.meta.url));
    this.child = spawn(process.execPath, ['--conditions=@ordo/source', '--import', 'tsx', path, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.ready = new Promise((resolve) => (this.readyResolve = resolve));
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.receive(JSON.parse(line) as ServerResponse));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.child.stdin!.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        for (const answer of this.pending.values()) answer({ gone: true });
        this.pending.clear();
        resolve({ code, signal });
      });
    });
  }

  /** Resolves when the store is open; rejects when the child dies first or takes too long. */
  async started(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const failed = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`child not ready within ${readyTimeoutMs} ms; stderr: ${this.stderr}`)), readyTimeoutMs);
      void this.exited.then(({ code, signal }) => reject(new Error(`child exited (${code ?? signal}) before ready; stderr: ${this.stderr}`)));
    });
    try {
      await Promise.race([this.ready, failed]);
    } finally {
      clearTimeout(timer);
    }
  }

  request(body: RequestBody): Promise<ChildAnswer> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve({ gone: true });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ ...body, id })}\n`);
    });
  }

  /** SIGKILL: no chance to flush, close or unlock. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Asks the server to close its store and exit; one that has not exited within closeWaitMs is killed. */
  async close(): Promise<void> {
    const exitedInTime = Promise.race([this.request({ type: 'close' }).then(() => this.exited), sleep(closeWaitMs)]);
    await exitedInTime;
    if (this.child.exitCode === null && this.child.signalCode === null) await this.kill();
  }

  private receive(message: ServerResponse): void {
    if ('event' in message) {
      this.readyResolve?.();
      return;
    }
    const resolve = this.pending.get(message.id);
    this.pending.delete(message.id);
    resolve?.('value' in message ? { value: message.value } : { error: message.error });
  }
}
