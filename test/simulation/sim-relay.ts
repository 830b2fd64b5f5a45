import {
  LogStoreError,
  RelayFencedError,
  type CommitRelay,
  type LogOpenResult,
  type LogRecord,
  type LogStore,
  type RelayedCommit,
  type RelayedOutcome,
  type RelayHost,
  type Snapshot,
} from '@ordo/core';
import { yieldMicrotasks } from './faulty-log.js';
import type { Prng } from './prng.js';

/** Probabilities per forward (checked in turn with one draw), and of a lost stream batch. */
export interface RelayFaults {
  /** The leader is fenced before it saw the commits: none of them is ever appended. */
  readonly fencedBefore: number;
  /** The leader took the commits and is fenced a moment later: some may be in the log. */
  readonly fencedAfter: number;
  /** The leader refused them unseen (it was resigning). */
  readonly notWritten: number;
  /** The leader took them and the link broke for good: the outcome stays unknown. */
  readonly unknown: number;
  /** After a forward that went well, the lead moves to another process. */
  readonly handover: number;
  /** A batch of the leader's stream does not reach a follower (it reads the gap from the log). */
  readonly streamLost: number;
}

export interface RelayCounts {
  forwards: number;
  fencedBefore: number;
  fencedAfter: number;
  notWritten: number;
  unknown: number;
  handovers: number;
  streamLost: number;
}

/**
 * The commit relay of simulated processes that share one memory log: one leader at a time,
 * terms that grow with each change of lead, and fencing as the contract asks for (an append
 * that a leader started under a term takes effect only while that term lasts). Deterministic:
 * every choice comes from the seeded generator, every wait is a microtask yield.
 */
export class SimRelayHub {
  leader: SimRelay | undefined;
  term = 0;
  readonly relays: SimRelay[] = [];
  readonly counts: RelayCounts = { forwards: 0, fencedBefore: 0, fencedAfter: 0, notWritten: 0, unknown: 0, handovers: 0, streamLost: 0 };

  constructor(
    private readonly prng: Prng,
    readonly faults: RelayFaults,
  ) {}

  /** Ends the current lead: a started relay chosen at random leads under a new term (or none does). */
  fence(): void {
    this.term += 1;
    const started = this.relays.filter((relay) => relay.started);
    this.leader = started.length === 0 ? undefined : this.prng.pick(started);
  }

  /** A relay for one more process. */
  join(prng: Prng): SimRelay {
    const relay = new SimRelay(this, prng);
    this.relays.push(relay);
    return relay;
  }
}

export class SimRelay implements CommitRelay {
  started = false;
  host: RelayHost | undefined;

  constructor(
    private readonly hub: SimRelayHub,
    private readonly prng: Prng,
  ) {}

  start(host: RelayHost): void {
    this.host = host;
    this.started = true;
    if (this.hub.leader === undefined) this.hub.fence();
  }

  get route(): 'lead' | 'follow' | 'direct' {
    if (!this.started) return 'direct';
    if (this.hub.leader === this) return 'lead';
    return this.hub.leader === undefined ? 'direct' : 'follow';
  }

  get term(): string | undefined {
    return this.hub.leader === this ? String(this.hub.term) : undefined;
  }

  /** A number of yields from 0 to `max`, from this relay's generator. */
  transitYields(max: number): number {
    return this.prng.between(0, max);
  }

  /** The term this relay leads under, undefined when it does not lead. */
  get leadTerm(): number | undefined {
    return this.hub.leader === this ? this.hub.term : undefined;
  }

  async forward(commits: readonly RelayedCommit[]): Promise<RelayedOutcome[]> {
    const { hub, prng } = this;
    const leader = hub.leader?.host;
    if (!this.started || hub.leader === this || leader === undefined) throw notWritten('no leader to forward to');
    hub.counts.forwards += 1;
    const copies = JSON.parse(JSON.stringify(commits)) as RelayedCommit[];
    const txIds = commits.map((commit) => commit.txId);
    await yieldMicrotasks(prng.between(0, 3));
    const { faults } = hub;
    const draw = prng.float();
    let threshold = faults.fencedBefore;
    if (draw < threshold) {
      hub.counts.fencedBefore += 1;
      hub.fence();
      throw new RelayFencedError({ store: 'memory', txIds });
    }
    threshold += faults.fencedAfter;
    if (draw < threshold) {
      hub.counts.fencedAfter += 1;
      const admitted = leader.admit(copies).catch(() => undefined);
      // Fenced while the batch may still be in flight, or once it settled.
      if (prng.chance(0.5)) await admitted;
      else await yieldMicrotasks(prng.between(0, 20));
      hub.fence();
      throw new RelayFencedError({ store: 'memory', txIds });
    }
    threshold += faults.notWritten;
    if (draw < threshold) {
      hub.counts.notWritten += 1;
      throw notWritten('injected: the leader refused them unseen');
    }
    threshold += faults.unknown;
    if (draw < threshold) {
      hub.counts.unknown += 1;
      void leader.admit(copies).catch(() => undefined);
      await yieldMicrotasks(prng.between(0, 20));
      throw new LogStoreError({ store: 'memory', message: 'injected: the link to the leader broke for good', outcome: 'unknown' });
    }
    const outcomes = await leader.admit(copies);
    if (prng.chance(faults.handover)) {
      hub.counts.handovers += 1;
      hub.fence();
    }
    return outcomes;
  }

  appended(records: readonly LogRecord[]): void {
    for (const relay of this.hub.relays) {
      if (relay === this || relay.route !== 'follow') continue;
      if (this.prng.chance(this.hub.faults.streamLost)) {
        this.hub.counts.streamLost += 1;
        continue;
      }
      relay.host?.offer(JSON.parse(JSON.stringify(records)) as LogRecord[]);
    }
  }

  async close(): Promise<void> {
    this.started = false;
    this.host = undefined;
    if (this.hub.leader === this) this.hub.fence();
  }
}

/**
 * Fencing in two layers around a process's fault-injecting view: `FenceStart` notes the lead
 * an append starts under (where the sequencer decides what goes in the batch), `FenceCheck`
 * sits on the shared log and lets the append take effect only while that lead still holds;
 * otherwise it is refused unwritten, as PostgreSQL refuses a dead session and etcd a failed
 * compare. The fault-injecting view between them may be slow: the lead can end meanwhile.
 */
export function fencedViews(relay: SimRelay, shared: LogStore, view: (inner: LogStore) => LogStore): LogStore {
  const gate = { term: undefined as number | undefined };
  return new FenceStart(view(new FenceCheck(shared, relay, gate)), relay, gate);
}

/** Longest way of an append from the process to the shared log, in microtask yields. */
const appendTransitYieldsMax = 10;

/** Passes every call through to the inner log. */
class PassLog implements LogStore {
  readonly name: string;
  readonly multiWriter: boolean;

  constructor(protected readonly inner: LogStore) {
    this.name = inner.name;
    this.multiWriter = inner.multiWriter;
  }

  open(): Promise<LogOpenResult> {
    return this.inner.open();
  }

  append(records: readonly LogRecord[]): Promise<void> {
    return this.inner.append(records);
  }

  read(from: number, limit: number): Promise<LogRecord[]> {
    return this.inner.read(from, limit);
  }

  head(): Promise<number> {
    return this.inner.head();
  }

  subscribe(listener: (head: number) => void): () => void {
    return this.inner.subscribe(listener);
  }

  get snapshotEvery(): number | undefined {
    return this.inner.snapshotEvery;
  }

  writeSnapshot(snapshot: Snapshot): Promise<void> {
    if (this.inner.writeSnapshot === undefined) return Promise.reject(new Error('no snapshots'));
    return this.inner.writeSnapshot(snapshot);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

class FenceStart extends PassLog {
  constructor(
    inner: LogStore,
    readonly relay: SimRelay,
    private readonly gate: { term: number | undefined },
  ) {
    super(inner);
  }

  override append(records: readonly LogRecord[]): Promise<void> {
    this.gate.term = this.relay.leadTerm;
    return this.inner.append(records);
  }
}

class FenceCheck extends PassLog {
  constructor(
    inner: LogStore,
    private readonly lead: SimRelay,
    private readonly gate: { term: number | undefined },
  ) {
    super(inner);
  }

  override async append(records: readonly LogRecord[]): Promise<void> {
    const { term } = this.gate;
    // On its way to the shared log the lead may end: then the append must not take effect.
    await yieldMicrotasks(this.lead.transitYields(appendTransitYieldsMax));
    if (term !== undefined && this.lead.leadTerm !== term) throw notWritten('fenced: the lead this append started under is over');
    return this.inner.append(records);
  }
}

function notWritten(message: string): LogStoreError {
  return new LogStoreError({ store: 'memory', message, outcome: 'not-written' });
}
