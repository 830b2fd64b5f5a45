import {
  checkReadRange,
  checkSnapshot,
  HistoryUnavailableError,
  InternalError,
  InvalidArgumentError,
  isOrdoError,
  LogCorruptError,
  LogHeadMovedError,
  LogStoreError,
  StoreClosedError,
  type CommitRelay,
  type LogOpenResult,
  type LogRecord,
  type LogStore,
  type Snapshot,
} from '@ordo/core';
import type { IKeyValue } from 'etcd3';
import { rangeOf, settleLostAppend } from './append-outcome.js';
import { decodeBatch, encodeBatchParts, type BatchPart } from './batch-codec.js';
import { ownedConnection, type EtcdConnection } from './etcd-connection.js';
import { describeError } from './etcd-errors.js';
import { etcdKeys, type EtcdKeys } from './etcd-keys.js';
import { HeadWatcher } from '../head-watcher.js';
import { headKeyWatch } from './head-key-watch.js';
import { SnapshotStore } from './snapshot-store.js';
import { emptyHead, headValue, newerHead, storedHead, type StoredHead } from './stored-head.js';
import { WriterTurn } from './writer-turn.js';
import { EtcdRelayElection, type EtcdLead } from './relay-election.js';
import type { RelayElection, RelayOptions } from '../relay/election.js';
import { TcpCommitRelay } from '../relay/tcp-relay.js';

export interface EtcdLogOptions {
  /** The cluster's client URLs ('http://10.0.0.1:2379') or host:port; give every member. */
  readonly endpoints: readonly string[];
  /** The key prefix that holds this log. Default 'ordo'. One prefix, one log. */
  readonly prefix?: string;
  /** Records between automatic snapshots (see LogStore.snapshotEvery). Default: none. */
  readonly snapshotEvery?: number;
  /** Delete batches behind the oldest kept snapshot. Default false: the whole history stays readable. */
  readonly pruneBehindSnapshots?: boolean;
  /**
   * Most bytes of records one transaction carries. Default 1.4 MiB, for etcd's default
   * --max-request-bytes of 1.5 MiB; keep it about 100 KiB below the server's setting.
   */
  readonly batchBytesMax?: number;
  /** Interval of the backstop head poll while someone subscribes. Default 1000 ms. */
  readonly headPollMs?: number;
  /** Deadline of every call to etcd. Default 5000 ms. */
  readonly callTimeoutMs?: number;
  /**
   * Writers on the prefix take turns at the head (see writer-turn.ts), instead of all sending
   * compares of which all but one fail. Default true; false only to measure what turns save.
   */
  readonly writerTurns?: boolean;
  /** etcd's user and password, when the cluster has authentication on. */
  readonly auth?: { readonly username: string; readonly password: string };
  /**
   * Route the commits of every process on this prefix through one of them, the relay's leader
   * (see `CommitRelay` in @ordo/core). The lead is the key `<prefix>/relay` on a lease (see
   * relay-election.ts). Default: no relay, every process appends its own batches.
   */
  readonly relay?: RelayOptions;
}

const prefixDefault = 'ordo';
const prefixLengthMax = 200;
const batchBytesMaxDefault = Math.floor(1.4 * 1024 * 1024);
const batchBytesMin = 1024;
// etcd's default --max-request-bytes; above it every transaction would be refused.
const batchBytesCeiling = 64 * 1024 * 1024;
/** Most records under one key; bounds the search for the batch that holds a position. */
export const batchRecordsMax = 2048;
const headPollMsDefault = 1_000;
const headPollMsMin = 10;
const callTimeoutMsDefault = 5_000;
// Batch keys fetched per read call (each at most batchBytesMax).
const batchesPerReadMax = 16;
// Appends whose compare failed only because a fence rewrote the head with the same position.
const fencedRetriesMax = 3;
const snapshotsKept = 2;
// Writers' turns at the head (see writer-turn.ts). A turn lasts 20 ms past its holder's last
// append (about four appends on a loaded 3-member cluster on one disk); once asked, the
// holder keeps it 100 ms more (a burst of some 20 appends, against one handover of a few
// milliseconds); nobody waits more than 250 ms for it.
const turnSettings = { holdMs: 20, burstMs: 100, waitMaxMs: 250 };
// Attempts of a read whose member was unavailable, and the delay that grows between them.
const readAttemptsMax = 3;
const readRetryDelayMs = 100;

/**
 * A log store in etcd: the log on a raft cluster that keeps committing while a minority of its
 * members is down. Many processes on many hosts share one log under one prefix.
 */
export function etcdLog(options: EtcdLogOptions): EtcdLogStore {
  const { connection, keys } = connectLocation(options);
  const settings = {
    snapshotEvery: optionalInteger('snapshotEvery', options.snapshotEvery, 1),
    batchBytesMax: integerIn('batchBytesMax', options.batchBytesMax ?? batchBytesMaxDefault, batchBytesMin, batchBytesCeiling),
    headPollMs: integerIn('headPollMs', options.headPollMs ?? headPollMsDefault, headPollMsMin, Number.MAX_SAFE_INTEGER),
    pruneBehindSnapshots: options.pruneBehindSnapshots ?? false,
    writerTurns: options.writerTurns ?? true,
    relay: options.relay,
  };
  if (settings.relay !== undefined && (typeof settings.relay !== 'object' || settings.relay === null)) {
    throw new InvalidArgumentError('relay', 'must be an options object');
  }
  return new EtcdLog(connection, keys, settings);
}

/** Where a log is: the cluster and the prefix, checked. */
export type EtcdLocation = Pick<EtcdLogOptions, 'endpoints' | 'prefix' | 'callTimeoutMs' | 'auth'>;

/** A connection of its own to the log `location` names (the options are checked first), and its keys. */
export function connectLocation(location: EtcdLocation): { connection: EtcdConnection; keys: EtcdKeys } {
  const endpoints = location.endpoints as unknown;
  if (!Array.isArray(endpoints) || endpoints.length === 0 || !endpoints.every((entry) => typeof entry === 'string' && entry.length > 0)) {
    throw new InvalidArgumentError('endpoints', 'give the client URLs of the cluster members, at least one');
  }
  const prefix = location.prefix ?? prefixDefault;
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > prefixLengthMax || !/^[\x21-\x7e]+$/.test(prefix)) {
    throw new InvalidArgumentError('prefix', `must be 1 to ${prefixLengthMax} printable ASCII characters without spaces`);
  }
  const callTimeoutMs = integerIn('callTimeoutMs', location.callTimeoutMs ?? callTimeoutMsDefault, 1, Number.MAX_SAFE_INTEGER);
  return { connection: ownedConnection({ endpoints: endpoints as string[], callTimeoutMs, auth: location.auth }), keys: etcdKeys(prefix) };
}

function integerIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new InvalidArgumentError(name, `must be an integer from ${min} to ${max}`);
  return value;
}

function optionalInteger(name: string, value: number | undefined, min: number): number | undefined {
  return value === undefined ? undefined : integerIn(name, value, min, Number.MAX_SAFE_INTEGER);
}

interface EtcdLogSettings {
  readonly snapshotEvery: number | undefined;
  readonly batchBytesMax: number;
  readonly headPollMs: number;
  readonly pruneBehindSnapshots: boolean;
  readonly writerTurns: boolean;
  readonly relay: RelayOptions | undefined;
}

/** The etcd log store, with counters of how its appends met other writers. */
export interface EtcdLogStore extends LogStore {
  /**
   * Since the store was made: append transactions sent (`compares`), those whose compare failed
   * because another writer moved the head (`failedCompares`: each one a replicated, fsynced
   * write in etcd), and waits for another writer's turn (`turnWaits`).
   */
  readonly stats: { readonly compares: number; readonly failedCompares: number; readonly turnWaits: number };
  /** Who leads the commit relay, decided through this log; undefined without the `relay` option. */
  readonly relayElection: RelayElection | undefined;
}

class EtcdLog implements EtcdLogStore {
  readonly name = 'etcd';
  readonly multiWriter = true;
  readonly snapshotEvery: number | undefined;
  readonly relay: CommitRelay | undefined;
  readonly relayElection: EtcdRelayElection | undefined;
  private readonly watcher: HeadWatcher;
  private readonly snapshots: SnapshotStore;
  private readonly turn = new WriterTurn(turnSettings);
  private readonly counts = { compares: 0, failedCompares: 0, turnWaits: 0 };
  /** The newest head this instance has seen; appends compare its revision. */
  private known: StoredHead = emptyHead;
  private closed = false;

  constructor(
    private readonly connection: EtcdConnection,
    private readonly keys: EtcdKeys,
    private readonly settings: EtcdLogSettings,
  ) {
    this.snapshotEvery = settings.snapshotEvery;
    this.snapshots = new SnapshotStore(connection, keys, snapshotsKept);
    this.watcher = new HeadWatcher({ announcements: headKeyWatch(connection, keys.head), readHead: () => this.head(), pollMs: settings.headPollMs });
    if (settings.relay !== undefined) {
      this.relayElection = new EtcdRelayElection(connection, keys);
      this.relay = new TcpCommitRelay(this.relayElection, { ...settings.relay, store: this.name });
    }
  }

  get stats(): EtcdLogStore['stats'] {
    return { ...this.counts };
  }

  async open(): Promise<LogOpenResult> {
    this.assertOpen();
    const head = await this.head();
    const snapshot = await this.guard('open', () => this.snapshots.newest(head));
    return { head, snapshot };
  }

  async append(records: readonly LogRecord[]): Promise<void> {
    this.assertOpen();
    const parts = encodeBatchParts(records, { bytesMax: this.settings.batchBytesMax, recordsMax: batchRecordsMax });
    const first = parts[0]!.first;
    // A batch that starts under the relay lead is appended under it or not at all (see appendPart).
    const lead = this.relayElection?.fence;
    if (this.known.position !== first - 1) await this.head();
    if (this.known.position !== first - 1) throw new LogHeadMovedError({ expected: first, actual: this.known.position });
    if (this.settings.writerTurns) await this.awaitTurn(first);
    this.watcher.expectOwn(first + records.length - 1);
    for (const [index, part] of parts.entries()) {
      try {
        await this.appendPart(part, records[part.first - first]!.txId, lead);
      } catch (error) {
        if (index === 0) throw error;
        // Earlier parts are in the log: the batch as a whole is neither written nor not.
        throw new LogStoreError({
          store: this.name,
          message: `append of positions ${rangeOf({ first, count: records.length })} wrote ${rangeOf({ first, count: part.first - first })} only: ${describeError(error)}`,
          cause: error,
        });
      }
    }
  }

  /**
   * Waits while another writer's turn runs (see writer-turn.ts), reading the head meanwhile:
   * when that writer appended, this batch can only fail, and the owner must read first.
   */
  private async awaitTurn(first: number): Promise<void> {
    const deadline = Date.now() + this.turn.waitMaxMs;
    for (let wait = this.turn.waitMs(this.known, Date.now()); wait > 0 && Date.now() < deadline; wait = this.turn.waitMs(this.known, Date.now())) {
      this.counts.turnWaits += 1;
      if (this.turn.shouldAsk(this.known)) await this.askForTurn();
      // The holder's next append (the one that frees the head, too) wakes us through the watch.
      await this.watcher.changed(wait);
      await this.head();
      if (this.known.position !== first - 1) throw new LogHeadMovedError({ expected: first, actual: this.known.position });
    }
  }

  /** Tells the writer holding the turn that another one waits; a lost ask only costs throughput. */
  private async askForTurn(): Promise<void> {
    try {
      await this.connection.txn({ success: [{ request_put: { key: this.keys.turnWanted, value: Buffer.from(this.turn.id) } }] });
    } catch {
      // The append that follows compares the head anyway.
    }
  }

  /**
   * One transaction: if the head key was last written at the revision this instance knows,
   * write the new head and the part under its first position; else read the head. The compare
   * is on the revision, not the position, so that a fence (see append-outcome.ts) can make a
   * lost copy of this transaction fail for good without moving the head.
   */
  private async appendPart(part: BatchPart, firstTxId: string, lead: EtcdLead | undefined): Promise<void> {
    const last = part.first + part.count - 1;
    for (let attempt = 0; attempt <= fencedRetriesMax; attempt += 1) {
      const expected = this.known;
      const turn = this.settings.writerTurns ? this.turn.next(expected, Date.now()) : undefined;
      // Checked right before the send: a lead lost or given up since the append started.
      if (lead !== undefined && this.relayElection?.fence !== lead) throw this.leadLost(part);
      let response;
      try {
        response = await this.connection.txn({
          compare: [
            { key: this.keys.head, target: 'Mod', result: 'Equal', mod_revision: expected.revision },
            ...(lead === undefined ? [] : [{ key: this.keys.relay, target: 'Create' as const, result: 'Equal' as const, create_revision: lead.createRevision }]),
          ],
          success: [
            { request_put: { key: this.keys.head, value: headValue(last, turn) } },
            { request_put: { key: this.keys.log(part.first), value: part.value } },
            { request_range: { key: this.keys.turnWanted } },
          ],
          failure: [{ request_range: { key: this.keys.head } }, ...(lead === undefined ? [] : [{ request_range: { key: this.keys.relay } }])],
        });
      } catch (error) {
        const settled = await this.settleFailedAppend(part, firstTxId, expected, error);
        if (settled) return;
        continue;
      }
      this.counts.compares += 1;
      if (response.succeeded) {
        this.saw({ position: last, revision: Number(response.header.revision), turn });
        const ask = response.responses[2]?.response_range.kvs[0];
        if (ask !== undefined) this.turn.sawAsk(Number(ask.mod_revision), ask.value.toString());
        return;
      }
      this.counts.failedCompares += 1;
      const head = storedHead(this.keys.head.toString(), response.responses[0]?.response_range.kvs[0]);
      this.saw(head);
      // The lead's key gone or another lead's: the lead compare failed, whatever the head did.
      if (lead !== undefined && response.responses[1]?.response_range.kvs[0]?.create_revision !== String(lead.createRevision)) {
        this.relayElection?.lost(lead);
        throw this.leadLost(part);
      }
      if (head.position !== part.first - 1) throw new LogHeadMovedError({ expected: part.first, actual: head.position });
      // Only the revision moved: a fence rewrote the same head. Compare against the new one.
    }
    throw new LogStoreError({ store: this.name, message: `append of positions ${rangeOf(part)} was fenced ${fencedRetriesMax + 1} times in a row`, outcome: 'not-written' });
  }

  private leadLost(part: BatchPart): LogStoreError {
    return new LogStoreError({
      store: this.name,
      message: `append of positions ${rangeOf(part)} started under the relay lead, which is lost or given up: not written`,
      outcome: 'not-written',
    });
  }

  /** True when the lost transaction is in the log; false when it is not (and try again); throws otherwise. */
  private async settleFailedAppend(part: BatchPart, firstTxId: string, expected: StoredHead, error: unknown): Promise<boolean> {
    if (this.connection.outcomeOf(error) === 'not-written') {
      throw new LogStoreError({ store: this.name, message: `append of positions ${rangeOf(part)} refused: ${describeError(error)}`, cause: error, outcome: 'not-written' });
    }
    const settled = await settleLostAppend({ connection: this.connection, keys: this.keys, part, firstTxId, expected, cause: error });
    // The head as the fence read it, a consistent pair of position and revision: never our own
    // last position with that revision, as others may have appended after the lost batch.
    this.saw(settled.head);
    if (settled.written) return true;
    throw new LogStoreError({
      store: this.name,
      message: `append of positions ${rangeOf(part)} lost its answer and was not written: ${describeError(error)}`,
      cause: error,
      outcome: 'not-written',
    });
  }

  async read(from: number, limit: number): Promise<LogRecord[]> {
    checkReadRange(from, limit);
    this.assertOpen();
    return this.guard('read', () => this.readRange(from, limit));
  }

  private async readRange(from: number, limit: number): Promise<LogRecord[]> {
    const records: LogRecord[] = [];
    let next = from;
    let end = Infinity;
    while (records.length < limit && next <= end) {
      const page = await this.readPage(next);
      end = page.head;
      if (next > end) break;
      for (const record of page.records) {
        if (records.length >= limit || record.position > end) break;
        records.push(record);
      }
      next = from + records.length;
      if (page.records.length === 0) throw new InternalError(`etcd read at ${next} returned no records below the head ${end}`);
    }
    return records;
  }

  /** One linearizable read: the head, the first kept position and the batches from `from` on. */
  private async readPage(from: number): Promise<{ head: number; records: LogRecord[] }> {
    const response = await this.connection.txn({
      success: [
        { request_range: { key: this.keys.head } },
        { request_range: { key: this.keys.pruned } },
        { request_range: { key: this.keys.log(from), range_end: this.keys.logEnd, limit: batchesPerReadMax } },
      ],
    });
    const head = storedHead(this.keys.head.toString(), response.responses[0]?.response_range.kvs[0]);
    this.saw(head);
    if (from > head.position) return { head: head.position, records: [] };
    this.checkKept(from, response.responses[1]?.response_range.kvs[0]);
    let batches = response.responses[2]?.response_range.kvs ?? [];
    if (batches[0] === undefined || this.keys.firstOf(batches[0].key) !== from) {
      // `from` lies inside a batch that starts before it.
      batches = [await this.batchHolding(from), ...batches];
    }
    return { head: head.position, records: this.chain(from, batches) };
  }

  private checkKept(from: number, pruned: IKeyValue | undefined): void {
    const firstKept = pruned === undefined ? 1 : Number(pruned.value.toString());
    if (from < firstKept) throw new HistoryUnavailableError({ requested: from, firstAvailable: firstKept });
  }

  /** The batch whose first position is the highest at or below `from`; batches hold at most batchRecordsMax records. */
  private async batchHolding(from: number): Promise<IKeyValue> {
    const response = await this.connection.txn({
      success: [
        { request_range: { key: this.keys.pruned } },
        {
          request_range: {
            key: this.keys.log(Math.max(1, from - batchRecordsMax + 1)),
            range_end: this.keys.log(from + 1),
            sort_order: 'Descend',
            sort_target: 'Key',
            limit: 1,
          },
        },
      ],
    });
    this.checkKept(from, response.responses[0]?.response_range.kvs[0]);
    const holding = response.responses[1]?.response_range.kvs[0];
    if (holding === undefined) throw new LogCorruptError({ store: 'etcd', location: this.keys.log(from).toString(), position: from, reason: `position ${from} is missing` });
    return holding;
  }

  /** Decodes consecutive batches into records from `from` on; a hole between them is corruption. */
  private chain(from: number, batches: readonly IKeyValue[]): LogRecord[] {
    const records: LogRecord[] = [];
    let expected = from;
    for (const kv of batches) {
      const key = kv.key.toString();
      const first = this.keys.firstOf(kv.key);
      if (first === undefined) throw new LogCorruptError({ store: 'etcd', location: key, position: expected, reason: 'a key under log/ is not a batch key' });
      if (first > expected) throw new LogCorruptError({ store: 'etcd', location: key, position: expected, reason: `position ${expected} is missing` });
      const batch = decodeBatch(key, first, kv.value);
      if (first + batch.length <= expected) throw new LogCorruptError({ store: 'etcd', location: key, position: expected, reason: `position ${expected} is missing` });
      for (const record of batch) if (record.position >= expected) records.push(record);
      expected = first + batch.length;
    }
    return records;
  }

  /** A linearizable read of the head key (ReadIndex): it sees every append acknowledged before it. */
  async head(): Promise<number> {
    this.assertOpen();
    const response = await this.guard('head', () => this.connection.range({ key: this.keys.head }));
    const head = storedHead(this.keys.head.toString(), response.kvs[0]);
    this.saw(head);
    return head.position;
  }

  private saw(head: StoredHead): void {
    this.known = newerHead(this.known, head);
  }

  subscribe(listener: (head: number) => void): () => void {
    if (this.closed) return () => undefined;
    return this.watcher.add(listener);
  }

  async writeSnapshot(snapshot: Snapshot): Promise<void> {
    this.assertOpen();
    checkSnapshot(snapshot);
    checkSnapshot(snapshot, await this.head());
    // Written once: a repeated write would leave the chunks of the first attempt behind.
    const kept = await this.guard('writeSnapshot', () => this.snapshots.write(snapshot), 1);
    const oldestKept = kept.at(-1);
    if (this.settings.pruneBehindSnapshots && oldestKept !== undefined && oldestKept > 0) {
      await this.guard('prune', () => this.prune(oldestKept));
    }
  }

  /** Deletes the batches that lie wholly behind `position`, and records the first position kept. */
  private async prune(position: number): Promise<void> {
    const holding = await this.batchHolding(position);
    const firstKept = this.keys.firstOf(holding.key)!;
    const current = await this.connection.range({ key: this.keys.pruned });
    const pruned = current.kvs[0];
    if (pruned !== undefined && Number(pruned.value.toString()) >= firstKept) return;
    // Only if nobody pruned meanwhile: the first kept position never moves back.
    await this.connection.txn({
      compare: [{ key: this.keys.pruned, target: 'Mod', result: 'Equal', mod_revision: pruned?.mod_revision ?? 0 }],
      success: [
        { request_put: { key: this.keys.pruned, value: Buffer.from(String(firstKept)) } },
        { request_delete_range: { key: this.keys.logStart, range_end: this.keys.log(firstKept) } },
      ],
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watcher.close();
    await this.relayElection?.close();
    this.connection.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }

  /**
   * Runs a read-side step; failures become LogStoreError, Ordo's own errors pass through. Reads
   * change nothing, so one that failed for want of a member (a broken connection, a leader
   * election) is tried again, a bounded number of times: only appends must never be repeated.
   */
  private async guard<T>(step: string, run: () => Promise<T>, attemptsMax = readAttemptsMax): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await run();
      } catch (error) {
        if (isOrdoError(error)) throw error;
        if (attempt >= attemptsMax || this.closed || this.connection.outcomeOf(error) === 'not-written') {
          throw new LogStoreError({ store: this.name, message: `${step} failed: ${describeError(error)}`, cause: error });
        }
        await new Promise((resolve) => setTimeout(resolve, readRetryDelayMs * attempt));
      }
    }
  }
}
