import { connect } from 'node:net';
import { LogStoreError, type LogRecord, type RelayedCommit, type RelayedOutcome } from '@ordo/core';
import type { RelayLeader } from './election.js';
import { FramedConnection, type FramedConnectionLimits } from './framed-connection.js';
import { relayProtocol, type RelayMessage, type RelayTxStatus } from './relay-messages.js';

/** A forward waiting for its outcomes: the caller's promise, settled exactly once by whoever holds it. */
export interface PendingForward {
  readonly commits: readonly RelayedCommit[];
  readonly resolve: (outcomes: RelayedOutcome[]) => void;
  readonly reject: (error: Error) => void;
}

export interface FollowerLinkOptions {
  readonly limits: FramedConnectionLimits;
  readonly leader: RelayLeader;
  /** This relay's id, the same on every link it opens: the leader closes older links of it. */
  readonly follower: string;
  /** How long connecting and the hello may take, in ms. */
  readonly handshakeMsMax: number;
  readonly onRecords: (records: readonly LogRecord[]) => void;
  readonly onWelcome: (link: FollowerLink) => void;
  /** Once, when the link closed, with the forwards it still had: they are the caller's to settle. */
  readonly onClose: (link: FollowerLink, reason: Error | undefined, orphans: PendingForward[]) => void;
}

type Request =
  | { readonly kind: 'forward'; readonly pending: PendingForward }
  | { readonly kind: 'status'; readonly count: number; readonly resolve: (statuses: readonly RelayTxStatus[]) => void; readonly reject: (error: Error) => void };

/**
 * A follower's connection to the leader of one term. It is usable once the leader welcomed
 * it; each request gets one answer by id, and records the leader streams go to `onRecords`
 * as they arrive: the leader writes a batch's records before the outcomes they decide, so a
 * forward resolves only after its records were handed on.
 */
export class FollowerLink {
  private readonly connection: FramedConnection;
  private readonly requests = new Map<number, Request>();
  /** Status requests given up on: their late answers are dropped. */
  private readonly abandoned = new Set<number>();
  private nextId = 1;
  private handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  /** True once the leader welcomed this link under its term. */
  welcomed = false;

  constructor(private readonly options: FollowerLinkOptions) {
    const { host, port } = parseAddress(options.leader.address, options.limits.store);
    const socket = connect({ host, port });
    // Idle, the link does not keep the process alive; with requests out it does (see track).
    socket.unref();
    this.connection = new FramedConnection(socket, options.limits, {
      onMessage: (message) => this.received(message),
      onClose: (reason) => this.closed(reason),
    });
    socket.once('connect', () => this.connection.send({ type: 'hello', protocol: relayProtocol, term: options.leader.term, follower: options.follower }));
    this.handshakeTimer = setTimeout(() => this.close(this.error(`no welcome from the relay leader at ${options.leader.address} within ${options.handshakeMsMax} ms`)), options.handshakeMsMax);
    this.handshakeTimer.unref();
  }

  get leader(): RelayLeader {
    return this.options.leader;
  }

  get isClosed(): boolean {
    return this.connection.closed;
  }

  /** How long the leader has been silent, in ms. */
  silentMs(now: number): number {
    return now - this.connection.lastHeardAt;
  }

  /** The commit requests waiting for their answer. */
  get forwardsPending(): number {
    let count = 0;
    for (const request of this.requests.values()) if (request.kind === 'forward') count += 1;
    return count;
  }

  /** Sends commits. Throws `LogStoreError` ('not-written') when they are too large for a frame. */
  forward(pending: PendingForward): void {
    const id = this.nextId++;
    // Registered first: a send that closes the link (a full write buffer) hands it on with the rest.
    this.track(id, { kind: 'forward', pending });
    try {
      this.connection.send({ type: 'commit', id, commits: pending.commits });
    } catch (error) {
      this.untrack(id);
      throw error;
    }
  }

  /**
   * Asks what became of these transactions; rejects when the link closes first or no answer
   * came within `waitMsMax` (the leader waits for the ones in flight, which may never end).
   */
  status(txIds: readonly string[], waitMsMax: number): Promise<readonly RelayTxStatus[]> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.untrack(id);
        this.abandoned.add(id);
        reject(this.error(`the relay leader did not answer a status request within ${waitMsMax} ms`));
      }, waitMsMax);
      timer.unref();
      const settle = <T>(action: (value: T) => void) => (value: T): void => {
        clearTimeout(timer);
        action(value);
      };
      this.track(id, { kind: 'status', count: txIds.length, resolve: settle(resolve), reject: settle(reject) });
      try {
        this.connection.send({ type: 'status', id, txIds });
      } catch (error) {
        this.untrack(id);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  close(reason?: Error): void {
    this.connection.close(reason);
  }

  private received(message: RelayMessage): void {
    switch (message.type) {
      case 'welcome':
        if (message.term !== this.options.leader.term || this.welcomed) return this.close(this.error(`relay leader welcomed term ${message.term}, not ${this.options.leader.term}`));
        clearTimeout(this.handshakeTimer);
        this.welcomed = true;
        return this.options.onWelcome(this);
      case 'refused':
        return this.close(this.error(`relay leader at ${this.options.leader.address} refused the link: ${message.reason}`));
      case 'records':
        return this.options.onRecords(message.records);
      case 'beat':
        return;
      case 'outcomes':
      case 'failed':
      case 'statuses':
        return this.answered(message);
      default:
        return this.close(this.error(`relay leader sent '${message.type}', which only a follower sends`));
    }
  }

  private answered(message: Extract<RelayMessage, { type: 'outcomes' | 'failed' | 'statuses' }>): void {
    const request = this.requests.get(message.id);
    if (request === undefined && message.type === 'statuses' && this.abandoned.delete(message.id)) return;
    if (request === undefined || (request.kind === 'status') !== (message.type === 'statuses')) {
      return this.close(this.error(`relay leader answered '${message.type}' to request ${message.id}, which does not wait for that`));
    }
    this.untrack(message.id);
    if (request.kind === 'status') {
      if (message.type !== 'statuses' || message.statuses.length !== request.count) return this.close(this.error('relay leader answered a status request with the wrong count'));
      return request.resolve(message.statuses);
    }
    if (message.type === 'failed') {
      const { failure } = message;
      return request.pending.reject(new LogStoreError({ store: this.options.limits.store, message: `the relay leader failed the batch (${failure.code}): ${failure.message}`, outcome: failure.outcome }));
    }
    if (message.type !== 'outcomes' || message.outcomes.length !== request.pending.commits.length) {
      // Put it back: closing hands it on to be settled by status.
      this.track(message.id, request);
      return this.close(this.error('relay leader answered a commit request with the wrong count of outcomes'));
    }
    request.pending.resolve([...message.outcomes]);
  }

  private closed(reason: Error | undefined): void {
    clearTimeout(this.handshakeTimer);
    const orphans: PendingForward[] = [];
    const error = reason ?? this.error(`relay link to ${this.options.leader.address} closed`);
    for (const request of this.requests.values()) {
      if (request.kind === 'forward') orphans.push(request.pending);
      else request.reject(error);
    }
    this.requests.clear();
    this.options.onClose(this, reason, orphans);
  }

  /** A caller waits on a request: the process stays up for its answer. */
  private track(id: number, request: Request): void {
    this.requests.set(id, request);
    this.connection.socket.ref();
  }

  private untrack(id: number): void {
    this.requests.delete(id);
    if (this.requests.size === 0) this.connection.socket.unref();
  }

  private error(message: string): LogStoreError {
    return new LogStoreError({ store: this.options.limits.store, message });
  }
}

/** `host:port`, with the host in brackets when it is an IPv6 address. */
export function parseAddress(address: string, store: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  let host = address.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) {
    throw new LogStoreError({ store, message: `relay address '${address}' is not host:port`, outcome: 'not-written' });
  }
  return { host, port };
}
