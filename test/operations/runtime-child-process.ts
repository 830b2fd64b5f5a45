import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pgUrl } from '../postgres/pg-test-env.js';

export interface ChildEvent {
  readonly event: string;
  readonly [key: string]: unknown;
}

const childScript = fileURLToPath(new URL('./runtime-child.ts', import.meta.url));
const waitTimeoutMs = 45_000;

/** A real runtime process (runtime-child.ts) on a shared PostgreSQL log, driven by JSON lines. */
export class RuntimeChildProcess {
  readonly events: ChildEvent[] = [];
  readonly exited: Promise<number | null>;
  private stderr = '';
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.events.push(JSON.parse(line) as ChildEvent);
      for (const waiter of [...this.waiters]) waiter();
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        resolve(code);
        for (const waiter of [...this.waiters]) waiter();
      }),
    );
  }

  static async start(options: { schema: string; storageRoot: string; name: string; leaseMs: number }): Promise<RuntimeChildProcess> {
    const args = ['--conditions=@ordo/source', '--import', 'tsx', childScript, pgUrl, options.schema, options.storageRoot, options.name, String(options.leaseMs)];
    const started = new RuntimeChildProcess(spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    await started.waitFor((event) => event.event === 'ready');
    return started;
  }

  get ready(): ChildEvent {
    return this.events.find((event) => event.event === 'ready') as ChildEvent;
  }

  send(command: object): void {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** Resolves with the first event (counting from `skip`) that matches; rejects when the child dies first. */
  waitFor(match: (event: ChildEvent) => boolean, skip = 0): Promise<ChildEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.events.slice(skip).find(match);
        if (found !== undefined || this.child.exitCode !== null || this.child.signalCode !== null) {
          this.waiters.delete(check);
          clearTimeout(timer);
          if (found !== undefined) resolve(found);
          else reject(new Error(`child ended (exit ${this.child.exitCode}, signal ${this.child.signalCode}); stderr: ${this.stderr}`));
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`child timed out waiting; stderr: ${this.stderr}`));
      }, waitTimeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  async ask(command: object, event: string): Promise<ChildEvent> {
    const skip = this.events.length;
    this.send(command);
    return this.waitFor((candidate) => candidate.event === event, skip);
  }

  /** Runs an operation and waits for its answer. */
  run(command: { cmd: 'create' | 'resize'; name: string; sizeBytes: number; requestId: string; pause?: 'before' | 'after' | 'revert'; fail?: boolean }): Promise<ChildEvent> {
    const skip = this.events.length;
    this.send(command);
    return this.waitFor((event) => event.event === 'done' && event.requestId === command.requestId, skip);
  }

  signal(signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): void {
    this.child.kill(signal);
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.send({ cmd: 'close' });
    await this.exited;
  }

  /** Ends the process whatever its state (test cleanup). */
  async end(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
