import { compareFencingTokens, OperationError, type FencingToken } from '@ordo/core';

/** What a host agent knows about one VM: its configuration as defined, and whether it runs. */
export interface DomainSpec {
  readonly name: string;
  readonly vcpus: number;
  readonly memoryMiB: number;
  /** Volume ids attached as disks, in order. */
  readonly disks: readonly string[];
  readonly nics: readonly { readonly mac: string; readonly ip: string }[];
}

export type DomainState = 'running' | 'stopped';

export interface Domain {
  readonly id: string;
  readonly spec: DomainSpec;
  readonly state: DomainState;
}

/**
 * The per-host agent of the simulated hypervisor, like libvirtd on a real host: it holds the
 * VMs defined on its host and whether each runs. Every call is idempotent, as a control plane
 * that retries after a crash needs: defining an existing VM replaces its configuration,
 * starting a running VM or undefining an unknown one does nothing.
 */
export class HostAgent {
  private readonly domains = new Map<string, Domain>();
  /** The newest fencing token applied per VM; kept after undefine, so a late apply cannot bring a VM back. */
  private readonly tokens = new Map<string, FencingToken>();

  constructor(readonly hostId: string) {}

  /**
   * Refuses a call older than what this host already applied to the VM (a runtime that lost
   * its operation to another one), and remembers a newer one. Checked and recorded in the
   * same step as the call it guards, as an agent's own lock would.
   */
  fence(id: string, token: FencingToken | undefined): void {
    if (token === undefined) return;
    const newest = this.tokens.get(id);
    if (newest !== undefined && compareFencingTokens(token, newest) < 0) {
      throw new OperationError({
        code: 'STALE_FENCING_TOKEN',
        message: `host ${this.hostId} refused a change to VM ${id} at position ${token.position} epoch ${token.epoch}: it already applied position ${newest.position} epoch ${newest.epoch}`,
        entity: { kind: 'vm', id },
        details: { position: token.position, epoch: token.epoch, appliedPosition: newest.position, appliedEpoch: newest.epoch },
      });
    }
    this.tokens.set(id, token);
  }

  token(id: string): FencingToken | undefined {
    return this.tokens.get(id);
  }

  fencingTokens(): [string, FencingToken][] {
    return [...this.tokens.entries()];
  }

  loadTokens(tokens: readonly [string, FencingToken][]): void {
    for (const [id, token] of tokens) this.tokens.set(id, token);
  }

  define(id: string, spec: DomainSpec): void {
    const existing = this.domains.get(id);
    this.domains.set(id, { id, spec, state: existing?.state ?? 'stopped' });
  }

  start(id: string): void {
    this.setState(id, 'running');
  }

  stop(id: string): void {
    this.setState(id, 'stopped');
  }

  /** Removes the VM (stopping it first, as `virsh destroy` then `undefine` would). */
  undefine(id: string): void {
    this.domains.delete(id);
  }

  get(id: string): Domain | undefined {
    return this.domains.get(id);
  }

  list(): Domain[] {
    return [...this.domains.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Restores domains read back from the hypervisor's state file. */
  load(domains: readonly Domain[]): void {
    this.domains.clear();
    for (const domain of domains) this.domains.set(domain.id, domain);
  }

  private setState(id: string, state: DomainState): void {
    const domain = this.domains.get(id);
    if (domain === undefined) throw new Error(`host ${this.hostId}: VM ${id} is not defined`);
    this.domains.set(id, { ...domain, state });
  }
}
