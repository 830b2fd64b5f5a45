import { createServer, type Server, type Socket } from 'node:net';
import { isOrdoError, LogStoreError, type LogRecord, type RelayedCommit, type RelayedOutcome, type RelayHost } from '@ordo/core';
import type { RelayElection } from './election.js';
import { encodeFrame } from './frame-codec.js';
import { FramedConnection, type FramedConnectionLimits } from './framed-connection.js';
import { RecentOutcomes } from './recent-outcomes.js';
import { relayProtocol, type RelayFailure, type RelayMessage, type RelayTxStatus } from './relay-messages.js';

export interface RelayLeaderEndpointOptions {
  readonly limits: FramedConnectionLimits;
  readonly election: RelayElection;
  /** How long outcomes stay for followers that ask after a broken link, in ms. */
  readonly outcomesKeepMs: number;
  readonly outcomesMax: number;
  readonly onError: (error: Error) => void;
}

/** One follower's connection, as the leader sees it. */
interface FollowerConnection {
  readonly connection: FramedConnection;
  /** Set by its hello, once the leader welcomed it under `term`. */
  follower: string | undefined;
  term: string | undefined;
}

/** How long records of other processes' commits may wait to go to a follower with others, in ms. */
const recordsDelayMs = 2;

// Errors of a batch that the log store reports only when nothing of it was written.
const notWrittenCodes: ReadonlySet<string> = new Set(['LOG_HEAD_MOVED', 'RECORD_TOO_LARGE', 'LOG_READ_ONLY', 'STORE_CLOSED', 'COMMIT_QUEUE_FULL']);

/**
 * The leader's side of the relay: a TCP server that admits the commits followers forward into
 * the store's batches, answers each request once, and streams every appended batch's records
 * to all followers, before any outcome those records decide.
 *
 * It accepts followers only under the term the election gives it now, and admits a commit only
 * while that term holds; a follower that reconnects closes its older connections first, so a
 * status answer of 'unseen' stays true.
 */
export class RelayLeaderEndpoint {
  private readonly server: Server;
  private readonly followers = new Set<FollowerConnection>();
  private readonly outcomes: RecentOutcomes;
  /** Forwarded transactions admitted and not decided yet: settled when their outcome is kept. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Records appended for transactions still in flight, kept with their outcome. */
  private readonly inFlightRecords = new Map<string, LogRecord>();
  private host: RelayHost | undefined;
  private admitting = true;

  constructor(private readonly options: RelayLeaderEndpointOptions) {
    this.outcomes = new RecentOutcomes({ keepMs: options.outcomesKeepMs, entriesMax: options.outcomesMax });
    this.server = createServer((socket) => this.accept(socket));
    this.server.on('error', (error) => options.onError(new LogStoreError({ store: options.limits.store, message: `relay server failed: ${error.message}`, cause: error })));
  }

  /** Starts listening; resolves with the address it listens at, `host:port`. */
  listen(host: RelayHost, at: { host: string; port: number }): Promise<string> {
    this.host = host;
    return new Promise((resolve, reject) => {
      const failed = (error: Error): void => reject(new LogStoreError({ store: this.options.limits.store, message: `relay cannot listen on ${at.host}:${at.port}: ${error.message}`, cause: error, outcome: 'not-written' }));
      this.server.once('error', failed);
      this.server.listen(at.port, at.host, () => {
        this.server.off('error', failed);
        this.server.unref();
        const address = this.server.address();
        const port = typeof address === 'object' && address !== null ? address.port : at.port;
        resolve(`${at.host.includes(':') ? `[${at.host}]` : at.host}:${port}`);
      });
    });
  }

  /** The store appended and folded these records: every follower gets them now. */
  appended(records: readonly LogRecord[]): void {
    for (const record of records) if (this.inFlight.has(record.txId)) this.inFlightRecords.set(record.txId, record);
    const welcomed = [...this.followers].filter((follower) => follower.term !== undefined);
    if (welcomed.length === 0) return;
    let frames: Buffer[];
    try {
      frames = this.recordFrames(records);
    } catch (error) {
      // A record too large for any frame: followers cannot be given it, so they reconnect and settle.
      this.options.onError(error as Error);
      for (const follower of welcomed) follower.connection.close(error as Error);
      return;
    }
    // Deferred: a follower with commits in the batch gets these records in one write with their
    // outcomes (any message sends what was deferred first); the others a moment later, with
    // the next batches, in fewer writes and wake-ups.
    for (const follower of welcomed) for (const frame of frames) follower.connection.defer(frame, recordsDelayMs);
  }

  /** Tells every follower the link is alive. */
  beat(): void {
    for (const follower of this.followers) if (follower.term !== undefined) follower.connection.send({ type: 'beat' });
  }

  /** Closes every follower's connection: the lead is lost, or the relay closes. */
  dropFollowers(): void {
    for (const follower of [...this.followers]) follower.connection.close();
  }

  /**
   * Stops admitting (requests that arrive are answered 'not-written') and waits, at most
   * `waitMsMax`, for the commits already admitted to be decided and answered.
   */
  async drain(waitMsMax: number): Promise<void> {
    this.admitting = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMsMax);
      timer.unref();
    });
    await Promise.race([Promise.allSettled([...this.inFlight.values()]), timeout]);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    this.admitting = false;
    this.dropFollowers();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    // Followers' links never keep the process alive: close() ends them when the store closes.
    socket.unref();
    const follower: FollowerConnection = {
      follower: undefined,
      term: undefined,
      connection: new FramedConnection(socket, this.options.limits, {
        onMessage: (message) => this.received(follower, message),
        onClose: (reason) => {
          this.followers.delete(follower);
          if (reason !== undefined) this.options.onError(reason);
        },
      }),
    };
    this.followers.add(follower);
  }

  private received(follower: FollowerConnection, message: RelayMessage): void {
    switch (message.type) {
      case 'hello':
        return this.hello(follower, message);
      case 'commit':
        return this.commit(follower, message.id, message.commits);
      case 'status':
        return void this.status(follower, message.id, message.txIds).catch((error: unknown) => follower.connection.close(error as Error));
      default:
        follower.connection.close(new LogStoreError({ store: this.options.limits.store, message: `relay follower sent '${message.type}', which only a leader sends` }));
    }
  }

  private hello(follower: FollowerConnection, hello: Extract<RelayMessage, { type: 'hello' }>): void {
    const { term, follower: id } = hello;
    const current = this.options.election.term;
    if (follower.term !== undefined) return follower.connection.close(new LogStoreError({ store: this.options.limits.store, message: 'relay follower said hello twice' }));
    if (hello.protocol !== relayProtocol) {
      follower.connection.send({ type: 'refused', reason: `the follower speaks relay protocol ${hello.protocol}, this leader ${relayProtocol}` });
      return follower.connection.close();
    }
    if (!this.admitting || current !== term) {
      follower.connection.send({ type: 'refused', reason: current === undefined ? 'this process does not lead' : `this process leads under another term than ${term}` });
      return follower.connection.close();
    }
    // The follower's older connections go first: nothing they still carry will be admitted.
    for (const other of [...this.followers]) if (other !== follower && other.follower === id) other.connection.close();
    follower.follower = id;
    follower.term = term;
    follower.connection.send({ type: 'welcome', term });
  }

  private commit(follower: FollowerConnection, id: number, commits: readonly RelayedCommit[]): void {
    const host = this.host;
    if (follower.term === undefined || host === undefined) return follower.connection.close(new LogStoreError({ store: this.options.limits.store, message: 'relay follower sent a commit before hello' }));
    if (!this.admitting || this.options.election.term !== follower.term) {
      return follower.connection.send({ type: 'failed', id, failure: { code: 'LOG_STORE_FAILED', message: 'the relay leader is closing or no longer leads: nothing was admitted', outcome: 'not-written' } });
    }
    const decided = host.admit(commits).then(
      (outcomes) => this.decided(follower, id, commits, outcomes),
      (error: unknown) => this.failed(follower, id, commits, describeFailure(error)),
    );
    const settled = decided
      .catch((error: unknown) => this.options.onError(error as Error))
      .finally(() => {
        for (const commit of commits) {
          if (this.inFlight.get(commit.txId) === settled) this.inFlight.delete(commit.txId);
          this.inFlightRecords.delete(commit.txId);
        }
      });
    for (const commit of commits) this.inFlight.set(commit.txId, settled);
  }

  private decided(follower: FollowerConnection, id: number, commits: readonly RelayedCommit[], outcomes: readonly RelayedOutcome[]): void {
    if (outcomes.length !== commits.length) {
      return this.failed(follower, id, commits, { code: 'INTERNAL', message: `the leader's store decided ${outcomes.length} of ${commits.length} commits`, outcome: 'unknown' });
    }
    commits.forEach((commit, index) => {
      const outcome = outcomes[index] as RelayedOutcome;
      this.outcomes.decided(commit.txId, { state: 'decided', outcome }, outcome.type === 'committed' ? this.inFlightRecords.get(commit.txId) : undefined);
    });
    follower.connection.send({ type: 'outcomes', id, outcomes });
  }

  private failed(follower: FollowerConnection, id: number, commits: readonly RelayedCommit[], failure: RelayFailure): void {
    for (const commit of commits) this.outcomes.failed(commit.txId, failure);
    follower.connection.send({ type: 'failed', id, failure });
  }

  /**
   * Answers a follower whose earlier link broke. Its hello closed those links, so what is not
   * in flight or decided now never reached the leader and never will be admitted.
   */
  private async status(follower: FollowerConnection, id: number, txIds: readonly string[]): Promise<void> {
    if (follower.term === undefined) return follower.connection.close(new LogStoreError({ store: this.options.limits.store, message: 'relay follower asked for status before hello' }));
    await Promise.all(txIds.flatMap((txId) => this.inFlight.get(txId) ?? []));
    const statuses: RelayTxStatus[] = [];
    const records: LogRecord[] = [];
    for (const txId of txIds) {
      const known = this.outcomes.lookup(txId);
      statuses.push(known.status);
      if (known.record !== undefined) records.push(known.record);
    }
    records.sort((a, b) => a.position - b.position);
    try {
      for (const frame of this.recordFrames(records)) follower.connection.sendFrame(frame);
    } catch (error) {
      // Without its record, the follower's store reads it from the log.
      this.options.onError(error as Error);
    }
    follower.connection.send({ type: 'statuses', id, statuses });
  }

  /** The records in frames no larger than the limit: a batch too large for one is split. */
  private recordFrames(records: readonly LogRecord[]): Buffer[] {
    if (records.length === 0) return [];
    try {
      return [encodeFrame({ type: 'records', records }, this.options.limits)];
    } catch (error) {
      if (records.length === 1) throw error;
      const half = Math.ceil(records.length / 2);
      return [...this.recordFrames(records.slice(0, half)), ...this.recordFrames(records.slice(half))];
    }
  }
}

function describeFailure(error: unknown): RelayFailure {
  const message = error instanceof Error ? error.message : String(error);
  if (isOrdoError(error, 'LOG_STORE_FAILED')) return { code: error.code, message, outcome: error.outcome };
  if (isOrdoError(error)) return { code: error.code, message, outcome: notWrittenCodes.has(error.code) ? 'not-written' : 'unknown' };
  return { code: 'UNKNOWN', message, outcome: 'unknown' };
}
