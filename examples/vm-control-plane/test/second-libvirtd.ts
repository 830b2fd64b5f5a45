import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { virshRunner } from '@ordo/adapters/libvirt';

/** The unprivileged user the second daemon runs as (scripts/libvirt-up.sh creates it). */
const daemonUser = 'libvirt-qemu';
/** libvirt probes QEMU at its first start: 1.5 to 8 s on these machines. */
const answerWaitMs = 30_000;
const stopWaitMs = 10_000;

/**
 * A second libvirtd on this machine, independent of the system one (qemu:///system): a
 * session-mode daemon run as the `libvirt-qemu` user, with its own runtime, config, cache and
 * data directories in a temporary directory, so its own socket, pid file and domain
 * definitions. It stands for a second host. Needs root (to switch user); stopped by its pid.
 */
export class SecondLibvirtd {
  readonly dir: string;
  readonly uri: string;
  private daemon: ChildProcess | undefined;

  private constructor(dir: string) {
    this.dir = dir;
    this.uri = `qemu+unix:///session?socket=${join(dir, 'run', 'libvirt', 'libvirt-sock')}`;
  }

  /** Whether one can be started here: root, libvirtd, runuser and the daemon's user. */
  static possible(): boolean {
    return process.getuid?.() === 0 && existsSync('/usr/sbin/libvirtd') && existsSync('/usr/sbin/runuser') && existsSync('/usr/bin/tini') && userIds() !== undefined;
  }

  static async start(): Promise<SecondLibvirtd> {
    const ids = userIds();
    if (ids === undefined) throw new Error(`no user ${daemonUser}: run scripts/libvirt-up.sh`);
    const dir = mkdtempSync(join(tmpdir(), 'ordo-libvirtd2-'));
    // The daemon's user must reach its own directories, and QEMU (as that user) the images under it.
    chmodSync(dir, 0o755);
    for (const sub of ['run', 'config', 'cache', 'data']) {
      mkdirSync(join(dir, sub));
      chownSync(join(dir, sub), ids.uid, ids.gid);
    }
    chmodSync(join(dir, 'run'), 0o700);
    const daemon = new SecondLibvirtd(dir);
    await daemon.resume();
    return daemon;
  }

  /** Starts the daemon (again, after `pause`: the same directories, so the same domains). */
  async resume(): Promise<void> {
    if (this.daemon !== undefined) return;
    const out = openSync(join(this.dir, 'libvirtd.out'), 'a');
    const env = {
      PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: this.dir,
      XDG_RUNTIME_DIR: join(this.dir, 'run'),
      XDG_CONFIG_HOME: join(this.dir, 'config'),
      XDG_CACHE_HOME: join(this.dir, 'cache'),
      XDG_DATA_HOME: join(this.dir, 'data'),
    };
    // tini reaps exited QEMU processes at once (without it every destroy takes 1.2 to 2 s).
    this.daemon = spawn('runuser', ['-u', daemonUser, '--', 'env', '-i', ...Object.entries(env).map(([key, value]) => `${key}=${value}`), 'tini', '-s', '--', '/usr/sbin/libvirtd', '--pid-file', this.pidFile], {
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    const virsh = virshRunner();
    const deadline = Date.now() + answerWaitMs;
    for (;;) {
      if (await virsh(this.uri, ['version']).then(() => true, () => false)) return;
      if (Date.now() > deadline) {
        await this.pause();
        throw new Error(`the second libvirtd did not answer within ${answerWaitMs} ms: ${readFileSync(join(this.dir, 'libvirtd.out'), 'utf8')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /**
   * Stops the daemon (SIGTERM to the pid in its pid file), leaving its directories: a host
   * whose libvirtd is down. Its running QEMU processes keep running, as they do when a real
   * libvirtd stops, and the daemon finds them again on `resume`.
   */
  async pause(): Promise<void> {
    const daemon = this.daemon;
    if (daemon === undefined) return;
    this.daemon = undefined;
    const exited = daemon.exitCode !== null ? Promise.resolve() : new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
    const pid = this.daemonPid();
    if (pid !== undefined) process.kill(pid, 'SIGTERM');
    else daemon.kill('SIGTERM');
    const timer = setTimeout(() => daemon.kill('SIGKILL'), stopWaitMs);
    await exited;
    clearTimeout(timer);
  }

  /** Destroys and undefines every domain it has, stops it and removes its directories. */
  async remove(): Promise<void> {
    await this.resume().catch(() => undefined);
    const virsh = virshRunner();
    const names = await virsh(this.uri, ['list', '--all', '--name']).then((out) => out.split('\n').map((line) => line.trim()).filter((line) => line.length > 0), () => []);
    for (const name of names) {
      await virsh(this.uri, ['destroy', name]).catch(() => undefined);
      await virsh(this.uri, ['undefine', name]).catch(() => undefined);
    }
    await this.pause();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private get pidFile(): string {
    return join(this.dir, 'run', 'libvirtd.pid');
  }

  private daemonPid(): number | undefined {
    try {
      const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
      return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }
}

function userIds(): { uid: number; gid: number } | undefined {
  try {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((entry) => entry.startsWith(`${daemonUser}:`));
    const [, , uid, gid] = line?.split(':') ?? [];
    return uid === undefined || gid === undefined ? undefined : { uid: Number(uid), gid: Number(gid) };
  } catch {
    return undefined;
  }
}
