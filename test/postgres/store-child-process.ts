import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SharedLogTarget } from './shared-log-target.js';

export interface ChildEvent {
  readonly event: string;
  readonly [key: string]: unknown;
}

const childScript = fileURLToPath(new URL('./store-child.ts', import.meta.url));
const waitTimeoutMs = 45_000;

/** A real child process running store-child.ts, driven by JSON lines. */
export class StoreChildProcess {
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

  static async start(target: SharedLogTarget, worker: number): Promise<StoreChildProcess> {
    const child = spawn(process.execPath, ['--conditions=@ordo/source', '--import', 'tsx', childScript, String(worker), ...target.args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const started = new StoreChildProcess(child);
    await started.waitFor((event) => event.event === 'ready');
    return started;
  }

  send(command: object): void {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /** Resolves with the first event (from the start) that matches, counting from `skip`. */
  waitFor(match: (event: ChildEvent) => boolean, skip = 0): Promise<ChildEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.events.slice(skip).find(match);
        const failed = this.events.find((event) => event.event === 'error');
        if (found !== undefined || failed !== undefined || this.child.exitCode !== null || this.child.signalCode !== null) {
          this.waiters.delete(check);
          clearTimeout(timer);
          if (found !== undefined) resolve(found);
          else reject(new Error(`child failed: ${JSON.stringify(failed)} exit ${this.child.exitCode} ${this.stderr}`));
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

  /** Sends a command and waits for the next event of the given name. */
  async ask(command: object, event: string): Promise<ChildEvent> {
    const skip = this.events.length;
    this.send(command);
    return this.waitFor((candidate) => candidate.event === event, skip);
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.send({ cmd: 'close' });
    await this.exited;
  }
}
