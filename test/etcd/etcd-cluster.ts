import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real etcd cluster of 3 members on this machine, for tests: each member is an `etcd`
 * process with its data in a temporary directory and its output in a file there. Ports are
 * taken from the kernel (a listen on port 0), so test files running in parallel do not collide.
 * Every member is stopped by its pid; a process exit kills whatever is left.
 *
 * With `isolated`, one member runs in a network namespace of its own, joined to the host by a
 * veth pair, so that `partition()` can take its link down (needs CAP_NET_ADMIN; see
 * `netnsAvailable`).
 */
export interface EtcdClusterOptions {
  readonly members?: number;
  /** The index of a member to run in its own network namespace. */
  readonly isolated?: number;
}

interface Member {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  process: ChildProcess | undefined;
}

const healthTimeoutMs = 30_000;
const startAttemptsMax = 3;
const live = new Set<EtcdCluster>();
process.on('exit', () => {
  for (const cluster of live) cluster.killAllNow();
});

export class EtcdCluster {
  readonly members: Member[];
  private readonly netns: string | undefined;

  private constructor(
    private readonly dir: string,
    members: Member[],
    netns: string | undefined,
    private readonly isolated: number | undefined,
  ) {
    this.members = members;
    this.netns = netns;
  }

  /** Starts the cluster and waits until every member reports healthy. */
  static async start(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= startAttemptsMax; attempt += 1) {
      const cluster = await EtcdCluster.create(options);
      try {
        await cluster.launch();
        return cluster;
      } catch (error) {
        lastError = error;
        await cluster.stop();
      }
    }
    throw new Error(`etcd cluster did not start in ${startAttemptsMax} attempts`, { cause: lastError });
  }

  private static async create(options: EtcdClusterOptions): Promise<EtcdCluster> {
    const count = options.members ?? 3;
    const dir = mkdtempSync(join(tmpdir(), 'ordo-etcd-'));
    const ports = await freePorts(count * 2);
    const netns = options.isolated === undefined ? undefined : createNetns();
    const members = Array.from({ length: count }, (_, index): Member => {
      const host = netns === undefined ? '127.0.0.1' : index === options.isolated ? netns.inside : netns.outside;
      return {
        name: `m${index}`,
        clientUrl: `http://${host}:${ports[index * 2]!}`,
        peerUrl: `http://${host}:${ports[index * 2 + 1]!}`,
        dataDir: join(dir, `m${index}`),
        process: undefined,
      };
    });
    const cluster = new EtcdCluster(dir, members, netns?.name, options.isolated);
    live.add(cluster);
    return cluster;
  }

  /** The network namespace of the isolated member, if there is one. */
  get namespace(): string | undefined {
    return this.netns;
  }

  get endpoints(): string[] {
    return this.members.map((member) => member.clientUrl);
  }

  private async launch(): Promise<void> {
    for (let index = 0; index < this.members.length; index += 1) this.spawnMember(index, 'new');
    await Promise.all(this.members.map((_, index) => this.waitHealthy(index)));
  }

  private spawnMember(index: number, state: 'new' | 'existing'): void {
    const member = this.members[index]!;
    const cluster = this.members.map((entry) => `${entry.name}=${entry.peerUrl}`).join(',');
    const args = [
      '--name', member.name,
      '--data-dir', member.dataDir,
      '--listen-client-urls', member.clientUrl,
      '--advertise-client-urls', member.clientUrl,
      '--listen-peer-urls', member.peerUrl,
      '--initial-advertise-peer-urls', member.peerUrl,
      '--initial-cluster', cluster,
      '--initial-cluster-state', state,
      '--initial-cluster-token', `ordo-test-${this.dir.slice(-8)}`,
      '--logger', 'zap',
      '--log-level', 'warn',
    ];
    const log = openSync(join(this.dir, `${member.name}.log`), 'a');
    const [command, commandArgs] =
      this.netns !== undefined && index === this.isolated ? ['ip', ['netns', 'exec', this.netns, 'etcd', ...args]] : ['etcd', args];
    // `ip netns exec` execs etcd in place: the pid is etcd's.
    member.process = spawn(command, commandArgs, { stdio: ['ignore', log, log] });
    closeSync(log);
  }

  /** Waits until the member answers /health with true (it has a leader and serves). */
  async waitHealthy(index: number, timeoutMs = healthTimeoutMs): Promise<void> {
    const member = this.members[index]!;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const exited = member.process?.exitCode ?? null;
      if (exited !== null) throw new Error(`etcd ${member.name} exited with ${exited}: ${this.output(index).slice(-2000)}`);
      try {
        const response = await fetch(`${member.clientUrl}/health`, { signal: AbortSignal.timeout(1_000) });
        const body = (await response.json()) as { health?: string };
        if (body.health === 'true') return;
      } catch {
        // Not up yet.
      }
      if (Date.now() > deadline) throw new Error(`etcd ${member.name} not healthy within ${timeoutMs} ms: ${this.output(index).slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  output(index: number): string {
    try {
      return readFileSync(join(this.dir, `${this.members[index]!.name}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  /** The index of the current leader, as the members themselves report it. */
  async leader(): Promise<number> {
    for (const [index, member] of this.members.entries()) {
      try {
        const response = await fetch(`${member.clientUrl}/metrics`, { signal: AbortSignal.timeout(2_000) });
        const text = await response.text();
        if (/^etcd_server_is_leader 1$/m.test(text)) return index;
      } catch {
        // A member that does not answer is not the leader we can use.
      }
    }
    throw new Error('no etcd member reports itself leader');
  }

  /** SIGKILL: the member gets no chance to flush or step down. */
  async kill(index: number): Promise<void> {
    const child = this.members[index]!.process;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts a killed member again over its data directory and waits until it is healthy. */
  async restart(index: number): Promise<void> {
    await this.kill(index);
    this.spawnMember(index, 'existing');
    await this.waitHealthy(index);
  }

  pause(index: number): void {
    this.members[index]!.process?.kill('SIGSTOP');
  }

  resume(index: number): void {
    this.members[index]!.process?.kill('SIGCONT');
  }

  /** Takes the isolated member's link down: it can reach nobody and nobody can reach it. */
  partition(): void {
    this.link('down');
  }

  heal(): void {
    this.link('up');
  }

  private link(state: 'up' | 'down'): void {
    if (this.netns === undefined) throw new Error('this cluster has no isolated member');
    run('ip', ['netns', 'exec', this.netns, 'ip', 'link', 'set', `${this.netns}-b`, state]);
  }

  /** Kills every member (by pid) and removes the data directory and the namespace. Idempotent. */
  async stop(): Promise<void> {
    for (const [index] of this.members.entries()) this.resume(index);
    await Promise.all(this.members.map((_, index) => this.kill(index)));
    live.delete(this);
    this.removeDirAndNetns();
  }

  /** For process exit: synchronous, so it cannot wait for the members to be gone. */
  killAllNow(): void {
    for (const member of this.members) {
      try {
        member.process?.kill('SIGCONT');
        member.process?.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    }
    this.removeDirAndNetns();
  }

  private removeDirAndNetns(): void {
    rmSync(this.dir, { recursive: true, force: true });
    if (this.netns !== undefined) {
      spawnSync('ip', ['link', 'del', `${this.netns}-a`], { stdio: 'ignore' });
      spawnSync('ip', ['netns', 'del', this.netns], { stdio: 'ignore' });
    }
  }
}

/** Ports the kernel hands out for listening now; etcd binds them moments later. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

let netnsCounter = 0;

/** A namespace joined to the host by a veth pair with a /30 of its own: 10.<a>.<b>.1 outside, .2 inside. */
function createNetns(): { name: string; inside: string; outside: string } {
  netnsCounter += 1;
  const tag = (process.pid * 8 + netnsCounter) % 65_000;
  const name = `oe${tag}`;
  const subnet = `10.${200 + ((tag >> 8) % 50)}.${tag % 256}`;
  const outside = `${subnet}.1`;
  const inside = `${subnet}.2`;
  spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  spawnSync('ip', ['link', 'del', `${name}-a`], { stdio: 'ignore' });
  run('ip', ['netns', 'add', name]);
  run('ip', ['link', 'add', `${name}-a`, 'type', 'veth', 'peer', 'name', `${name}-b`]);
  run('ip', ['link', 'set', `${name}-b`, 'netns', name]);
  run('ip', ['addr', 'add', `${outside}/30`, 'dev', `${name}-a`]);
  run('ip', ['link', 'set', `${name}-a`, 'up']);
  run('ip', ['netns', 'exec', name, 'ip', 'addr', 'add', `${inside}/30`, 'dev', `${name}-b`]);
  run('ip', ['netns', 'exec', name, 'ip', 'link', 'set', `${name}-b`, 'up']);
  run('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  return { name, inside, outside };
}

function run(command: string, args: readonly string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.error?.message}`);
}

/** Whether this process may make network namespaces (root with CAP_NET_ADMIN, not in a locked-down container). */
export function netnsAvailable(): { ok: true } | { ok: false; reason: string } {
  const name = `oeprobe${process.pid % 100_000}`;
  const result = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  if (result.status !== 0) return { ok: false, reason: (result.stderr || result.error?.message || 'ip netns add failed').trim() };
  spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  return { ok: true };
}
