import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCli as runInProcess } from '@ordo/cli';

export const cliBin = fileURLToPath(new URL('../../packages/cli/src/bin.ts', import.meta.url));
const runTimeoutMs = 60_000;

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts `ordo ARGS` as a real child process (from the sources, through tsx). */
export function startCli(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--conditions=@ordo/source', '--import', 'tsx', cliBin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
}

/** Runs `ordo ARGS` to its end in a real child process. */
export function runCliProcess(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  const child = startCli(args, env);
  return collect(child);
}

/**
 * Runs `ordo ARGS` through `runCli` of @ordo/cli in this process: the same code as the bin
 * without the ~1 s a child spends loading TypeScript, for the many checks of output. The
 * process-level behaviour (exit codes, signals, a killed export) is tested with child processes.
 */
export async function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runInProcess(args, {
    out: (text) => void (stdout += text),
    err: (text) => void (stderr += text),
    env: { ...process.env, ...env },
    signal: new AbortController().signal,
  });
  return { code, signal: null, stdout, stderr };
}

export function collect(child: ChildProcess): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ordo did not finish in ${runTimeoutMs} ms; stderr: ${stderr}`));
    }, runTimeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The JSON a `--json` run printed. */
export function jsonOf<Value = Record<string, unknown>>(run: CliRun): Value {
  if (run.code !== 0) throw new Error(`ordo exited ${String(run.code)}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Value;
}
