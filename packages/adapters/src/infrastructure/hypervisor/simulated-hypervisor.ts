import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { InvalidArgumentError, OperationError, type FencingToken } from '@ordo/core';
import { HostAgent, type Domain, type DomainSpec } from './host-agent.js';

export type AgentAction = 'define' | 'start' | 'stop' | 'undefine';

/** Options of one agent call. */
export interface AgentCallOptions {
  /** The caller's fencing token: the agent refuses it when it applied a newer one to the VM. */
  readonly token?: FencingToken | undefined;
}

export interface SimulatedHypervisorOptions {
  /**
   * A JSON file where the agents keep their VMs, so that they survive the control plane's
   * process like real hosts do (crash tests, the demo's restart). Without it they live in memory.
   */
  readonly stateFile?: string;
  /** Delay added to every agent call, in milliseconds. */
  readonly latencyMs?: number;
}

/** A located VM on one host, as `domains()` lists it. */
export interface PlacedDomain extends Domain {
  readonly hostId: string;
}

/** A failure the simulated infrastructure raises, on purpose or because a call made no sense. */
export class HypervisorFault extends Error {
  constructor(
    message: string,
    readonly hostId: string,
    readonly action: AgentAction,
  ) {
    super(message);
    this.name = 'HypervisorFault';
  }
}

const latencyMsMax = 60_000;

/**
 * A simulated hypervisor: one agent per host, each holding its VMs (defined, running or
 * stopped). It is the infrastructure, not the adapter: it has state, as real hosts do, and
 * the stateless `hypervisorAdapter` drives it. Faults can be injected for tests and demos:
 * fail the next call that concerns one VM, fail every call after N calls, add latency, make a
 * host unreachable.
 */
export class SimulatedHypervisor {
  private readonly agents = new Map<string, HostAgent>();
  /** VM id -> the hosts that have it defined: what `locate` answers without asking every agent. */
  private readonly placements = new Map<string, Set<string>>();
  private readonly failNextFor = new Map<string, string>();
  private readonly unreachable = new Set<string>();
  private callsBeforeFailure: number | undefined;
  private latencyMs: number;
  private callCount = 0;

  constructor(private readonly options: SimulatedHypervisorOptions = {}) {
    this.latencyMs = checkLatency(options.latencyMs ?? 0);
    if (options.stateFile !== undefined && existsSync(options.stateFile)) this.load(options.stateFile);
  }

  /** Agent calls made so far (failed ones included). */
  get calls(): number {
    return this.callCount;
  }

  /** The next agent call concerning this VM (by id or name) fails, once. */
  failNextApply(vm: string, message = 'injected fault'): void {
    this.failNextFor.set(vm, message);
  }

  /** After `calls` more successful agent calls, every call fails until `clearFaults`. */
  failAfter(calls: number): void {
    if (!Number.isSafeInteger(calls) || calls < 0) throw new InvalidArgumentError('calls', 'must be an integer >= 0');
    this.callsBeforeFailure = calls;
  }

  setLatency(milliseconds: number): void {
    this.latencyMs = checkLatency(milliseconds);
  }

  /** An unreachable host's agent refuses every call; `isReachable` tells the adapter's prepare. */
  setReachable(hostId: string, reachable: boolean): void {
    if (reachable) this.unreachable.delete(hostId);
    else this.unreachable.add(hostId);
  }

  isReachable(hostId: string): boolean {
    return !this.unreachable.has(hostId);
  }

  clearFaults(): void {
    this.failNextFor.clear();
    this.unreachable.clear();
    this.callsBeforeFailure = undefined;
  }

  /** Every VM on every host, sorted by host then VM id. */
  domains(): PlacedDomain[] {
    const hostIds = [...this.agents.keys()].sort();
    return hostIds.flatMap((hostId) => (this.agents.get(hostId)?.list() ?? []).map((domain) => ({ ...domain, hostId })));
  }

  /** The VM as the host's agent has it, if defined there. */
  domain(hostId: string, id: string): Domain | undefined {
    return this.agents.get(hostId)?.get(id);
  }

  hostIds(): string[] {
    return [...this.agents.keys()].sort();
  }

  /** Hosts that have this VM defined (more than one only while a migration is half-done). */
  locate(vmId: string): string[] {
    return [...(this.placements.get(vmId) ?? [])].sort();
  }

  async define(hostId: string, id: string, spec: DomainSpec, options: AgentCallOptions = {}): Promise<void> {
    await this.call(hostId, 'define', id, spec.name, (agent) => agent.define(id, spec), options.token);
  }

  async start(hostId: string, id: string, name: string, options: AgentCallOptions = {}): Promise<void> {
    await this.call(hostId, 'start', id, name, (agent) => agent.start(id), options.token);
  }

  async stop(hostId: string, id: string, name: string, options: AgentCallOptions = {}): Promise<void> {
    await this.call(hostId, 'stop', id, name, (agent) => agent.stop(id), options.token);
  }

  async undefine(hostId: string, id: string, name: string, options: AgentCallOptions = {}): Promise<void> {
    await this.call(hostId, 'undefine', id, name, (agent) => agent.undefine(id), options.token);
  }

  /** Refuses `token` when the host applied a newer one to the VM, and records it otherwise; no agent call. */
  checkFencing(hostId: string, id: string, token: FencingToken): void {
    this.agents.get(hostId)?.fence(id, token);
  }

  /** The newest fencing token a host applied to a VM. */
  fencingToken(hostId: string, id: string): FencingToken | undefined {
    return this.agents.get(hostId)?.token(id);
  }

  private async call(hostId: string, action: AgentAction, id: string, name: string, run: (agent: HostAgent) => void, token: FencingToken | undefined): Promise<void> {
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    this.callCount += 1;
    this.checkFaults(hostId, action, id, name);
    let agent = this.agents.get(hostId);
    if (agent === undefined) {
      agent = new HostAgent(hostId);
      this.agents.set(hostId, agent);
    }
    try {
      agent.fence(id, token);
      run(agent);
      this.place(id, hostId, agent.get(id) !== undefined);
    } catch (error) {
      if (error instanceof OperationError) throw error;
      throw new HypervisorFault(`${action} of VM ${name} failed: ${error instanceof Error ? error.message : String(error)}`, hostId, action);
    }
    if (this.options.stateFile !== undefined) this.save(this.options.stateFile);
  }

  private place(vmId: string, hostId: string, defined: boolean): void {
    let hosts = this.placements.get(vmId);
    if (defined) {
      if (hosts === undefined) this.placements.set(vmId, (hosts = new Set()));
      hosts.add(hostId);
    } else if (hosts !== undefined) {
      hosts.delete(hostId);
      if (hosts.size === 0) this.placements.delete(vmId);
    }
  }

  private checkFaults(hostId: string, action: AgentAction, id: string, name: string): void {
    if (this.unreachable.has(hostId)) throw new HypervisorFault(`host ${hostId} is unreachable`, hostId, action);
    for (const key of [id, name]) {
      const message = this.failNextFor.get(key);
      if (message !== undefined) {
        this.failNextFor.delete(key);
        throw new HypervisorFault(`${action} of VM ${name} failed: ${message}`, hostId, action);
      }
    }
    if (this.callsBeforeFailure !== undefined) {
      if (this.callsBeforeFailure === 0) throw new HypervisorFault(`${action} of VM ${name} failed: injected failure after N calls`, hostId, action);
      this.callsBeforeFailure -= 1;
    }
  }

  // Written to a temporary file, fsynced and renamed, so a crash leaves the old or the new state.
  private save(file: string): void {
    const hosts: Record<string, Domain[]> = {};
    const tokens: Record<string, [string, FencingToken][]> = {};
    for (const [hostId, agent] of this.agents) {
      hosts[hostId] = agent.list();
      tokens[hostId] = agent.fencingTokens();
    }
    const temporary = `${file}.tmp`;
    const descriptor = openSync(temporary, 'w');
    try {
      writeSync(descriptor, JSON.stringify({ format: 1, hosts, tokens }));
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    renameSync(temporary, file);
  }

  private load(file: string): void {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { format?: number; hosts?: Record<string, Domain[]>; tokens?: Record<string, [string, FencingToken][]> };
    if (parsed.format !== 1 || typeof parsed.hosts !== 'object') throw new Error(`${file} is not a simulated hypervisor state file`);
    for (const [hostId, domains] of Object.entries(parsed.hosts)) {
      const agent = new HostAgent(hostId);
      agent.load(domains);
      agent.loadTokens(parsed.tokens?.[hostId] ?? []);
      this.agents.set(hostId, agent);
      for (const domain of domains) this.place(domain.id, hostId, true);
    }
  }
}

function checkLatency(milliseconds: number): number {
  if (!Number.isFinite(milliseconds) || milliseconds < 0 || milliseconds > latencyMsMax) {
    throw new InvalidArgumentError('latencyMs', `must be between 0 and ${latencyMsMax}`);
  }
  return milliseconds;
}
