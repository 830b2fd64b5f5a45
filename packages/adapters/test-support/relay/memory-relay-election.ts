import type { RelayElection, RelayLeader } from '../../src/log-stores/relay/election.js';

interface Lead {
  readonly address: string;
  readonly term: string;
  readonly holder: MemoryRelayElection;
}

/**
 * The election of processes in one test process: one board holds the lead, and every relay
 * gets its own `MemoryRelayElection` of it. A test ends a term with `end()`, telling the holder
 * (it lost its lease and learned it) or not (it was cut off and still believes it leads).
 */
export class MemoryElectionBoard {
  private lead: Lead | undefined;
  private termsIssued = 0;
  /** When set, every `leader()` call fails with this error (the log store is unreachable). */
  leaderFailure: Error | undefined;
  /** When false, `claim` never wins: for tests that want no relay to take over. */
  claimsAllowed = true;

  election(): MemoryRelayElection {
    return new MemoryRelayElection(this);
  }

  get current(): RelayLeader | undefined {
    return this.lead === undefined ? undefined : { address: this.lead.address, term: this.lead.term };
  }

  /**
   * Ends the current term. `tell: false` leaves its holder believing it still leads, until the
   * returned function tells it (as a lease keeper learns late that its lease expired).
   */
  end(options: { tell?: boolean } = {}): () => void {
    const lead = this.lead;
    this.lead = undefined;
    const tell = (): void => lead?.holder.lost(lead.term);
    if (options.tell !== false) tell();
    return tell;
  }

  /** Gives the lead to `address` under a new term, as a process of another test fixture would. */
  install(address: string, holder: MemoryRelayElection): string {
    this.termsIssued += 1;
    const term = `term-${this.termsIssued}`;
    this.lead = { address, term, holder };
    return term;
  }

  /** @internal */
  leaderOf(): Lead | undefined {
    return this.lead;
  }

  /** @internal */
  release(holder: MemoryRelayElection): void {
    if (this.lead?.holder === holder) this.lead = undefined;
  }
}

/** One relay's view of a `MemoryElectionBoard`. */
export class MemoryRelayElection implements RelayElection {
  private heldTerm: string | undefined;
  private readonly listeners = new Set<() => void>();
  claims = 0;

  constructor(private readonly board: MemoryElectionBoard) {}

  get term(): string | undefined {
    return this.heldTerm;
  }

  async claim(address: string): Promise<string | undefined> {
    this.claims += 1;
    if (!this.board.claimsAllowed || this.board.leaderOf() !== undefined) return undefined;
    this.heldTerm = this.board.install(address, this);
    return this.heldTerm;
  }

  async leader(): Promise<RelayLeader | undefined> {
    if (this.board.leaderFailure !== undefined) throw this.board.leaderFailure;
    return this.board.current;
  }

  onLost(listener: () => void): () => void {
    const once = (): void => {
      this.listeners.delete(once);
      listener();
    };
    this.listeners.add(once);
    return () => this.listeners.delete(once);
  }

  async resign(): Promise<void> {
    this.board.release(this);
    this.heldTerm = undefined;
  }

  /** @internal The board ended this election's term. */
  lost(term: string): void {
    if (this.heldTerm !== term) return;
    this.heldTerm = undefined;
    for (const listener of [...this.listeners]) listener();
  }
}
