import { randomUUID } from 'node:crypto';
import { InternalError, LogStoreError, type CommitRelay, type LogRecord, type RelayedCommit, type RelayedOutcome, type RelayHost } from '@ordo/core';
import type { RelayElection, RelayLeader, RelayOptions } from './election.js';
import { frameBytesMaxDefault } from './frame-codec.js';
import type { FramedConnectionLimits } from './framed-connection.js';
import { OrphanedForwards } from './orphaned-forwards.js';
import { FollowerLink, type PendingForward } from './relay-follower-link.js';
import { RelayLeaderEndpoint } from './relay-leader-endpoint.js';

export interface TcpCommitRelayOptions extends RelayOptions {
  /** The log store's name, for errors: 'postgres', 'etcd'. */
  readonly store: string;
  /**
   * Failures the relay meets away from any caller (a broken or malformed link, a leader that
   * cannot be reached, an election that fails). Default: `process.emitWarning`.
   */
  readonly onError?: (error: Error) => void;
  /** The largest frame sent or accepted, in bytes. Default: 64 MiB. */
  readonly frameBytesMax?: number;
}

const checkMsDefault = 500;
const settleMsMaxDefault = 10_000;
// A link silent for this many leader beats is taken for dead (beats go every checkMs).
const silentBeatsMax = 4;
const silentMsMin = 2_000;
// The leader keeps outcomes well past the time any follower spends settling.
const outcomesKeepMsMin = 30_000;
const outcomesMax = 100_000;
// A follower may lag by this many of the largest frames before its link is cut.
const writeBufferFrames = 2;

/**
 * The commit relay over TCP: the process that wins the election listens for the others and
 * appends what they forward with its own commits; the others link to it and forward theirs.
 *
 * A loop, every `checkMs` and at once when something changed, keeps the route: a leader beats
 * its followers; a follower checks its link is alive; a process with neither looks the leader
 * up and links to it, or claims the lead when nobody holds it. Forwards caught by a broken
 * link are settled by the leader's status answer over a new link while its term lasts, or as
 * fenced once the election shows the term is over (see `OrphanedForwards`).
 */
export class TcpCommitRelay implements CommitRelay {
  private readonly limits: FramedConnectionLimits;
  private readonly endpoint: RelayLeaderEndpoint;
  private readonly orphans: OrphanedForwards;
  private readonly outstanding = new Set<Promise<RelayedOutcome[]>>();
  private readonly follower = randomUUID();
  private readonly checkMs: number;
  private readonly settleMsMax: number;
  private readonly silentMsMax: number;
  private host: RelayHost | undefined;
  private link: FollowerLink | undefined;
  private advertise: string | undefined;
  private listening: string | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private stopWatchingLead: (() => void) | undefined;
  private checking = false;
  /** Set once close() gave up on what was pending: no link is made after it. */
  private stopped = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly election: RelayElection,
    private readonly options: TcpCommitRelayOptions,
  ) {
    this.checkMs = options.checkMs ?? checkMsDefault;
    this.settleMsMax = options.settleMsMax ?? settleMsMaxDefault;
    this.silentMsMax = Math.max(silentBeatsMax * this.checkMs, silentMsMin);
    const frameBytesMax = options.frameBytesMax ?? frameBytesMaxDefault;
    this.limits = { store: options.store, frameBytesMax, writeBufferBytesMax: writeBufferFrames * frameBytesMax };
    const onError = (error: Error): void => this.report(error);
    this.endpoint = new RelayLeaderEndpoint({
      limits: this.limits,
      election,
      outcomesKeepMs: Math.max(outcomesKeepMsMin, 3 * this.settleMsMax),
      outcomesMax,
      onError,
    });
    this.orphans = new OrphanedForwards({ store: options.store, settleMsMax: this.settleMsMax, onError });
  }

  /** The election's term while this process leads (see `CommitRelay.term`). */
  get term(): string | undefined {
    return this.advertise === undefined ? undefined : this.election.term;
  }

  get route(): 'lead' | 'follow' | 'direct' {
    if (this.advertise === undefined) return 'direct';
    // While closing, a leader still leads until it resigned: what it admitted goes out with its batches.
    if (this.election.term !== undefined) return 'lead';
    if (this.closing === undefined && this.link?.welcomed === true && !this.link.isClosed) return 'follow';
    return 'direct';
  }

  /** Where this relay listens for followers, `host:port`, once it does. */
  get listenAddress(): string | undefined {
    return this.listening;
  }

  start(host: RelayHost): void {
    if (this.host !== undefined) throw new InternalError(`the ${this.options.store} log store's commit relay was started twice`);
    this.host = host;
    this.stopWatchingLead = this.election.onLost(() => this.leadLost());
    const listen = { host: this.options.listen?.host ?? '127.0.0.1', port: this.options.listen?.port ?? 0 };
    this.endpoint.listen(host, listen).then(
      (address) => {
        // Closed before it listened: the close found no server to stop, so stop it here.
        if (this.closing !== undefined) return void this.endpoint.close();
        this.listening = address;
        this.advertise = this.options.advertise ?? address;
        this.timer = setInterval(() => void this.check(), this.checkMs);
        this.timer.unref();
        void this.check();
      },
      (error: unknown) => this.report(error as Error),
    );
  }

  forward(commits: readonly RelayedCommit[]): Promise<RelayedOutcome[]> {
    const link = this.link;
    if (this.closing !== undefined || link === undefined || !link.welcomed || link.isClosed) {
      return Promise.reject(new LogStoreError({ store: this.options.store, message: 'no relay leader is linked: the commits were not sent', outcome: 'not-written' }));
    }
    let pending: PendingForward | undefined;
    const outcome = new Promise<RelayedOutcome[]>((resolve, reject) => {
      pending = { commits, resolve, reject };
    });
    const tracked = outcome.finally(() => this.outstanding.delete(tracked));
    // The caller holds `outcome`; the tracked copy only tells close() when it settled.
    tracked.catch(() => undefined);
    this.outstanding.add(tracked);
    try {
      link.forward(pending as PendingForward);
    } catch (error) {
      (pending as PendingForward).reject(error as Error);
    }
    return outcome;
  }

  appended(records: readonly LogRecord[]): void {
    this.endpoint.appended(records);
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    const leading = this.election.term !== undefined;
    if (leading) await this.endpoint.drain(this.settleMsMax);
    // Forwards still out settle first: answered over their link, or by the loop (which goes on
    // while closing, for them only), or as unknown once settleMsMax passed.
    await this.settled(this.settleMsMax);
    clearInterval(this.timer);
    this.stopWatchingLead?.();
    this.stopped = true;
    this.link?.close();
    this.orphans.settleAll(() => new LogStoreError({ store: this.options.store, message: 'the commit relay closed before the forwarded commits settled', outcome: 'unknown' }));
    try {
      await this.election.resign();
    } catch (error) {
      this.report(error as Error);
    }
    await this.endpoint.close();
  }

  /** Resolves once every forward settled, or after `waitMsMax`. */
  private async settled(waitMsMax: number): Promise<void> {
    if (this.outstanding.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMsMax);
      timer.unref();
    });
    await Promise.race([Promise.allSettled([...this.outstanding]), timeout]);
    clearTimeout(timer);
  }

  private leadLost(): void {
    this.endpoint.dropFollowers();
    void this.check();
  }

  /** One round of the loop; rounds never overlap. */
  private async check(): Promise<void> {
    if (this.checking || this.advertise === undefined) return;
    this.checking = true;
    try {
      await this.checkRoute();
    } catch (error) {
      this.report(error as Error);
    } finally {
      this.checking = false;
    }
  }

  private async checkRoute(): Promise<void> {
    if (this.election.term !== undefined) return this.endpoint.beat();
    const link = this.link;
    // A link still connecting settles by itself: welcomed, refused or timed out.
    if (link !== undefined && !link.welcomed) return;
    if (link !== undefined && link.silentMs(Date.now()) > this.silentMsMax) {
      link.close(new LogStoreError({ store: this.options.store, message: `the relay leader at ${link.leader.address} was silent for more than ${this.silentMsMax} ms` }));
    }
    // While closing, the loop only goes on for forwards a broken link left.
    const closingWithNothingLeft = (): boolean => this.closing !== undefined && this.orphans.size === 0;
    if (this.link === undefined && closingWithNothingLeft()) return;
    const leader = await this.election.leader();
    this.leaderIs(leader);
    if (this.stopped || this.link !== undefined || this.election.term !== undefined || closingWithNothingLeft()) return;
    if (leader !== undefined) {
      // Our own former lead, still on record: wait for the election to end it.
      if (leader.address !== this.advertise) this.follow(leader);
      return;
    }
    if (this.closing !== undefined) return;
    const term = await this.election.claim(this.advertise as string);
    if (term !== undefined && this.closing !== undefined) await this.election.resign();
  }

  /**
   * Acts on what the election says of the lead now. A leader whose term it no longer shows is
   * fenced even if its link still works (it may not have learned yet): the link closes and
   * what was pending on it, like what a broken link to that term left, is each in the log or
   * never will be.
   */
  private leaderIs(leader: RelayLeader | undefined): void {
    const link = this.link;
    if (link?.welcomed === true && leader?.term !== link.leader.term) {
      link.close(new LogStoreError({ store: this.options.store, message: `the relay leader at ${link.leader.address} no longer leads (term ${link.leader.term} is over)` }));
    }
    if (this.orphans.term !== undefined && leader?.term !== this.orphans.term) this.orphans.fenced();
  }

  private follow(leader: RelayLeader): void {
    this.link = new FollowerLink({
      limits: this.limits,
      leader,
      follower: this.follower,
      handshakeMsMax: this.silentMsMax,
      onRecords: (records) => this.offer(records),
      onWelcome: (link) => void this.orphans.ask(link),
      onClose: (link, reason, orphans) => this.linkClosed(link, reason, orphans),
    });
  }

  private linkClosed(link: FollowerLink, reason: Error | undefined, orphans: PendingForward[]): void {
    if (this.link === link) this.link = undefined;
    this.orphans.adopt(link.leader.term, orphans);
    if (reason !== undefined) this.report(reason);
    // A link that worked broke: find out at once whether its leader is still there.
    if (link.welcomed) void this.check();
  }

  private offer(records: readonly LogRecord[]): void {
    try {
      this.host?.offer(records);
    } catch (error) {
      this.report(error as Error);
    }
  }

  private report(error: Error): void {
    if (this.options.onError !== undefined) this.options.onError(error);
    else process.emitWarning(error);
  }
}
