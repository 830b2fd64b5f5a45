import { isOrdoError, type RelayedCommit, type RelayedOutcome } from '@ordo/core';
import { describe, expect, it } from 'vitest';
import { FakeLog, FakeRelayHost } from '../../../test-support/relay/fake-relay-host.js';
import { MemoryElectionBoard, type MemoryRelayElection } from '../../../test-support/relay/memory-relay-election.js';
import { TcpCutProxy } from '../../../test-support/relay/tcp-cut-proxy.js';
import { TcpCommitRelay } from './tcp-relay.js';

/** A small seeded random source (mulberry32): a failing seed replays the same faults. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Settled =
  | { readonly sent: readonly RelayedCommit[]; readonly outcomes: readonly RelayedOutcome[] }
  | { readonly sent: readonly RelayedCommit[]; readonly error: unknown };

interface Member {
  readonly relay: TcpCommitRelay;
  readonly election: MemoryRelayElection;
  readonly proxy: TcpCutProxy;
}

async function members(board: MemoryElectionBoard, log: FakeLog, random: () => number, count: number): Promise<Member[]> {
  const all: Member[] = [];
  for (let index = 0; index < count; index += 1) {
    const { proxy, address } = await TcpCutProxy.start();
    const election = board.election();
    const host = new FakeRelayHost(log);
    // Its log store fences it: an append is refused once the board no longer shows its term.
    host.leads = () => election.term !== undefined && board.current?.term === election.term;
    host.delayMs = () => random() * 5;
    const relay = new TcpCommitRelay(election, { store: 'faults', checkMs: 20, settleMsMax: 1_500, advertise: address, onError: () => undefined });
    host.appended = (records) => relay.appended(records);
    relay.start(host);
    all.push({ relay, election, proxy });
  }
  for (const member of all) {
    while (member.relay.listenAddress === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    member.proxy.target = member.relay.listenAddress;
  }
  return all;
}

/** Forwards while the run lasts, whenever this member follows; keeps how each forward settled. */
async function forwardLoop(member: Member, until: number, settled: Settled[], next: () => string): Promise<void> {
  while (Date.now() < until) {
    if (member.relay.route !== 'follow') {
      await new Promise((resolve) => setTimeout(resolve, 5));
      continue;
    }
    const sent = [{ txId: next(), base: 0, entities: [], values: [], kinds: [], changes: [] }, { txId: next(), base: 0, entities: [], values: [], kinds: [], changes: [] }];
    try {
      settled.push({ sent, outcomes: await member.relay.forward(sent) });
    } catch (error) {
      settled.push({ sent, error });
    }
  }
}

async function faultRun(seed: number): Promise<{ settled: Settled[]; log: FakeLog; faults: { cut: number; lostTold: number; lostUntold: number } }> {
  const random = seeded(seed);
  const board = new MemoryElectionBoard();
  const log = new FakeLog();
  const all = await members(board, log, random, 3);
  const settled: Settled[] = [];
  let txCount = 0;
  const next = (): string => `s${seed}-tx-${++txCount}`;
  const until = Date.now() + 3_000;
  const faults = { cut: 0, lostTold: 0, lostUntold: 0 };
  const faulting = (async () => {
    while (Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 30 + random() * 60));
      const dice = random();
      if (dice < 0.4) {
        faults.cut += 1;
        for (const member of all) member.proxy.cut();
      } else if (dice < 0.55) {
        faults.lostTold += 1;
        board.end();
      } else if (dice < 0.65) {
        faults.lostUntold += 1;
        // The holder learns of it later, as from a lease that expired while it was cut off.
        setTimeout(board.end({ tell: false }), 100 + random() * 200);
      }
    }
  })();
  const loops = all.flatMap((member) => Array.from({ length: 4 }, () => forwardLoop(member, until, settled, next)));
  await Promise.all([faulting, ...loops]);
  await Promise.all(all.map((member) => member.relay.close()));
  await Promise.all(all.map((member) => member.proxy.close()));
  return { settled, log, faults };
}

describe('TcpCommitRelay under faults', () => {
  it.each([17, 4242])('tells every forward its true outcome while links break and terms end (seed %i)', async (seed) => {
    const { settled, log, faults } = await faultRun(seed);
    const positions = new Map(log.records.map((record) => [record.txId, record.position]));
    // No transaction is in the log twice.
    expect(positions.size).toBe(log.records.length);
    const kinds = { committed: 0, fenced: 0, notWritten: 0, unknown: 0 };
    for (const result of settled) {
      const txIds = result.sent.map((commit) => commit.txId);
      if ('outcomes' in result) {
        kinds.committed += 1;
        expect(result.outcomes.map((outcome) => outcome.type === 'committed' && outcome.position)).toEqual(txIds.map((txId) => positions.get(txId)));
      } else if (isOrdoError(result.error, 'RELAY_FENCED')) {
        kinds.fenced += 1;
        expect(result.error.txIds).toEqual(txIds);
      } else if (isOrdoError(result.error, 'LOG_STORE_FAILED') && result.error.outcome === 'not-written') {
        kinds.notWritten += 1;
        // Not written, and never written later: the log is read after every relay closed.
        expect(txIds.filter((txId) => positions.has(txId))).toEqual([]);
      } else if (isOrdoError(result.error, 'LOG_STORE_FAILED') && result.error.outcome === 'unknown') {
        kinds.unknown += 1;
      } else {
        throw result.error;
      }
    }
    // The run must have exercised the relay: forwards answered, and faults of each kind.
    expect(kinds.committed).toBeGreaterThan(0);
    expect(faults.cut).toBeGreaterThan(0);
    expect(faults.lostTold + faults.lostUntold).toBeGreaterThan(0);
    console.log(`seed ${seed}: ${JSON.stringify({ faults, kinds, records: log.records.length })}`);
  });
});
