import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How long one `virsh` call may take before it counts as failed (a hung libvirtd must not hang apply). */
export const virshCallMsMax = 60_000;
/** Most bytes of output one call may print (a domain's XML is a few kB). */
const virshOutputBytesMax = 8 * 1024 * 1024;

/** A `virsh` call that failed: libvirt's own message, the connection and the command. */
export class VirshError extends Error {
  constructor(
    /** libvirt's message, without virsh's `error:` prefixes. */
    readonly libvirtMessage: string,
    readonly uri: string,
    readonly command: string,
  ) {
    super(`virsh -c ${uri} ${command}: ${libvirtMessage}`);
    this.name = 'VirshError';
  }
}

export interface VirshRunner {
  /** Runs `virsh -c <uri> <args>`; with `stdin`, the argument `inputFile` names a file holding it. Resolves to its standard output. */
  (uri: string, args: readonly string[], stdin?: string): Promise<string>;
}

/**
 * Runs `virsh` as a child process. The one maintained npm binding of libvirt reports every
 * error code as -1 and needs a native build; virsh prints libvirt's messages, which
 * `libvirtErrorCode` maps to codes. About 15 to 20 ms per call.
 */
export function virshRunner(binary = 'virsh'): VirshRunner {
  return async (uri, args, stdin) => {
    if (stdin === undefined) return run(binary, uri, args);
    // virsh reads XML from a file only, and Node's stdin pipes are sockets, which /dev/stdin cannot open.
    const dir = await mkdtemp(join(tmpdir(), 'ordo-virsh-'));
    try {
      const file = join(dir, 'input.xml');
      await writeFile(file, stdin);
      return await run(binary, uri, args.map((arg) => (arg === inputFile ? file : arg)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
}

/** Stands for the file that holds a call's `stdin` in its arguments. */
export const inputFile = '@input';

function run(binary: string, uri: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, ['-q', '-c', uri, ...args], { timeout: virshCallMsMax, maxBuffer: virshOutputBytesMax, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error === null) {
        resolve(stdout);
        return;
      }
      reject(new VirshError(cleanMessage(stderr) || error.message, uri, args.join(' ')));
    });
  });
}

/** virsh prints `error: Failed to start domain 'x'` then `error: <libvirt's reason>`: keep both, in one line. */
function cleanMessage(stderr: string): string {
  return stderr
    .split('\n')
    .map((line) => line.replace(/^error:\s*/, '').trim())
    .filter((line) => line.length > 0)
    .join(': ');
}
