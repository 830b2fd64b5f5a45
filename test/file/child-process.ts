import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface ChildEvent {
  readonly event: string;
  readonly [key: string]: unknown;
}

const waitTimeoutMs = 30_000;

/** A real child process running one of the scripts in test/file/, reporting JSON lines on stdout. */
export class FileChildProcess {
  readonly events: ChildEvent[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr = '';
  private readonly waiters = new Set<() => void>();

  constructor(script: string, args: readonly string[]) {
    const path = fileURLToPath(new URL(script, import.meta.url));
    this.child = spawn(process.execPath, ['--conditions=@ordo/source', '--import', 'tsx', path, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.events.push(JSON.parse(line) as ChildEvent);
      this.wake();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => {
      // 'close' comes after stdout has ended, so every line printed before death has been read.
      this.child.on('close', (code, signal) => {
        resolve({ code, signal });
        this.wake();
      });
    });
  }

  private readonly child: ChildProcess;

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Resolves with the first event that matches; rejects if the child exits or reports an error first. */
  waitFor(match: (event: ChildEvent) => boolean): Promise<ChildEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.events.find(match);
        const failed = this.events.find((event) => event.event === 'error');
        const gone = this.child.exitCode !== null || this.child.signalCode !== null;
        if (found === undefined && failed === undefined && !gone) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        if (found !== undefined) resolve(found);
        else reject(new Error(`child failed: ${JSON.stringify(failed)} exit ${this.child.exitCode}; stderr: ${this.stderr}`));
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`child timed out; stderr: ${this.stderr}`));
      }, waitTimeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
