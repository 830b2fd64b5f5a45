import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { isOrdoError, LogStoreError, type RelayedCommit, type RelayedOutcome } from '@ordo/core';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeLog, FakeRelayHost } from '../../../test-support/relay/fake-relay-host.js';
import { MemoryElectionBoard } from '../../../test-support/relay/memory-relay-election.js';
import { TcpCutProxy } from '../../../test-support/relay/tcp-cut-proxy.js';
import { encodeFrame, FrameDecoder } from './frame-codec.js';
import { TcpCommitRelay, type TcpCommitRelayOptions } from './tcp-relay.js';

interface Process {
  readonly relay: TcpCommitRelay;
  readonly host: FakeRelayHost;
  readonly errors: Error[];
}

const running: TcpCommitRelay[] = [];
const proxies: TcpCutProxy[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((relay) => relay.close()));
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

function relayProcess(board: MemoryElectionBoard, log: FakeLog, options: Partial<TcpCommitRelayOptions> = {}): Process {
  const host = new FakeRelayHost(log);
  const errors: Error[] = [];
  const relay = new TcpCommitRelay(board.election(), { store: 'test', checkMs: 50, settleMsMax: 5_000, onError: (error) => errors.push(error), ...options });
  host.appended = (records) => relay.appended(records);
  relay.start(host);
  running.push(relay);
  return { relay, host, errors };
}

async function leaderAndFollowers(count: number, options: Partial<TcpCommitRelayOptions> = {}): Promise<{ board: MemoryElectionBoard; log: FakeLog; leader: Process; followers: Process[] }> {
  const board = new MemoryElectionBoard();
  const log = new FakeLog();
  const leader = relayProcess(board, log, options);
  await until(() => leader.relay.route === 'lead', 'the first relay leads');
  const followers = Array.from({ length: count }, () => relayProcess(board, log, options));
  await until(() => followers.every((follower) => follower.relay.route === 'follow'), 'the others follow');
  return { board, log, leader, followers };
}

/** A leader reached through a cutting proxy, and one follower linked to it. */
async function proxiedLeader(options: Partial<TcpCommitRelayOptions> = {}): Promise<{ proxy: TcpCutProxy; board: MemoryElectionBoard; log: FakeLog; leader: Process; follower: Process }> {
  const { proxy, address } = await TcpCutProxy.start();
  proxies.push(proxy);
  const board = new MemoryElectionBoard();
  const log = new FakeLog();
  const leader = relayProcess(board, log, { ...options, advertise: address });
  await until(() => leader.relay.listenAddress !== undefined, 'the leader listens');
  proxy.target = leader.relay.listenAddress;
  await until(() => leader.relay.route === 'lead', 'the leader leads');
  const follower = relayProcess(board, log, options);
  await until(() => follower.relay.route === 'follow', 'the follower follows');
  return { proxy, board, log, leader, follower };
}

let txCount = 0;
function commits(count: number): RelayedCommit[] {
  return Array.from({ length: count }, () => ({ txId: `tx-${++txCount}`, base: 0, entities: [], values: [], kinds: [], changes: [] }));
}

/** Waits for a state the test drives toward; fails with `what` if it never comes. */
async function until(condition: () => boolean, what: string, waitMsMax = 15_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > waitMsMax) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('TcpCommitRelay', () => {
  it('routes two followers through one leader; each forward resolves after its records were offered, in order', async () => {
    const { log, leader, followers } = await leaderAndFollowers(2);
    const seenAtResolve: string[][] = [];
    const forwards = followers.flatMap((follower) =>
      Array.from({ length: 20 }, async () => {
        const sent = commits(3);
        const outcomes = await follower.relay.forward(sent);
        // Checked the moment the forward resolves: the records must already be offered.
        const offered = follower.host.offeredTxIds();
        seenAtResolve.push(sent.map((commit) => commit.txId).filter((txId) => !offered.includes(txId)));
        return { sent, outcomes };
      }),
    );
    const results = await Promise.all(forwards);
    expect(seenAtResolve.flat()).toEqual([]);
    for (const { sent, outcomes } of results) {
      expect(outcomes).toHaveLength(3);
      sent.forEach((commit, index) => {
        const outcome = outcomes[index] as RelayedOutcome;
        expect(outcome.type).toBe('committed');
        expect(log.records[(outcome as { position: number }).position - 1]?.txId).toBe(commit.txId);
      });
    }
    expect(log.head).toBe(120);
    // The leader's own batches reach every follower too, in log order.
    const own = commits(2);
    leader.relay.appended(log.append(own));
    for (const follower of followers) {
      await until(() => follower.host.offered.length === 122, 'each follower was offered every record');
      expect(follower.host.offered.map((record) => record.position)).toEqual(log.records.map((record) => record.position));
    }
    expect([...leader.errors, ...followers.flatMap((follower) => follower.errors)]).toEqual([]);
  });

  it('rejects forwards pending at a leader that lost its term with RelayFencedError naming exactly their txIds', async () => {
    const { board, leader, followers } = await leaderAndFollowers(1);
    const [follower] = followers as [Process];
    board.claimsAllowed = false;
    expect(await follower.relay.forward(commits(1))).toEqual([{ type: 'committed', position: 1 }]);
    leader.host.hold();
    const first = commits(2);
    const second = commits(1);
    const pending = [follower.relay.forward(first), follower.relay.forward(second)].map(rejection);
    await until(() => leader.host.admitted.length === 4, 'the leader admitted both forwards');
    // The fenced log store refuses the appends the old leader started.
    leader.host.failure = new LogStoreError({ store: 'test', message: 'lead lost', outcome: 'not-written' });
    board.end();
    const [firstError, secondError] = await Promise.all(pending);
    expect(isOrdoError(firstError, 'RELAY_FENCED') && firstError.txIds).toEqual(first.map((commit) => commit.txId));
    expect(isOrdoError(secondError, 'RELAY_FENCED') && secondError.txIds).toEqual(second.map((commit) => commit.txId));
    expect(leader.relay.route).toBe('direct');
    leader.host.release();
  });

  it('after a broken link under the same term, reconnects and gets the true outcome by status, with the record', async () => {
    const { proxy, log, leader, follower } = await proxiedLeader();

    leader.host.hold();
    const sent = commits(2);
    const forward = follower.relay.forward(sent);
    await until(() => leader.host.admitted.length === 2, 'the leader admitted the commits');
    proxy.cut();
    await until(() => proxy.connections === 2 && follower.relay.route === 'follow', 'the follower linked again');
    // The answer can only come by status now, which waits for the commits in flight.
    leader.host.release();
    const outcomes = await forward;
    expect(outcomes).toEqual([
      { type: 'committed', position: 1 },
      { type: 'committed', position: 2 },
    ]);
    expect(follower.host.offeredTxIds()).toEqual(expect.arrayContaining(sent.map((commit) => commit.txId)));
    expect(log.head).toBe(2);
  });

  it("answers 'unseen' for commits a superseded link still carried, and never admits them after", async () => {
    const { proxy, log, leader, follower } = await proxiedLeader();

    // The commit frame is delayed in the network; the follower's side of the link breaks.
    proxy.holdUp = true;
    const forward = rejection(follower.relay.forward(commits(1)));
    await until(() => proxy.heldUpBytes > 0, 'the frame is held');
    proxy.cutClients();
    proxy.holdUp = false;
    const error = await forward;
    expect(isOrdoError(error, 'LOG_STORE_FAILED') && error.outcome).toBe('not-written');
    // The reconnect's hello made the leader close the old link: the late bytes find it closed.
    await until(() => proxy.closedByTarget === 1, 'the leader closed the superseded link');
    proxy.flushHeld();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(leader.host.admitted).toEqual([]);
    expect(log.head).toBe(0);
  });

  it('fails over: when the lead is lost, another process leads and the rest follow it', async () => {
    const { board, log, leader, followers } = await leaderAndFollowers(2);
    const oldTerm = board.current?.term;
    board.end();
    await until(() => board.current !== undefined && board.current.term !== oldTerm, 'a new term began');
    const all = [leader, ...followers];
    await until(() => all.filter((each) => each.relay.route === 'lead').length === 1 && all.filter((each) => each.relay.route === 'follow').length === 2, 'one leads, two follow');
    const following = all.filter((each) => each.relay.route === 'follow');
    for (const each of following) expect(await each.relay.forward(commits(1))).toEqual([{ type: 'committed', position: expect.any(Number) as number }]);
    expect(log.head).toBe(2);
  });

  it('leaves a leader whose term is over although its link still works, and fences what was pending there', async () => {
    const { board, leader, followers } = await leaderAndFollowers(1);
    const [follower] = followers as [Process];
    board.claimsAllowed = false;
    leader.host.hold();
    const sent = commits(2);
    const pending = rejection(follower.relay.forward(sent));
    await until(() => leader.host.admitted.length === 2, 'the leader admitted the commits');
    // The leader does not learn it lost the lead (cut off from the election); its log store fences it.
    leader.host.failure = new LogStoreError({ store: 'test', message: 'fenced', outcome: 'not-written' });
    board.end({ tell: false });
    const error = await pending;
    expect(isOrdoError(error, 'RELAY_FENCED') && error.txIds).toEqual(sent.map((commit) => commit.txId));
    expect(leader.relay.route).toBe('lead');
    expect(follower.relay.route).toBe('direct');
    leader.host.release();
  });

  it('takes a silent link for broken after a few missed beats, and settles its forwards by status', async () => {
    const { proxy, follower } = await proxiedLeader();
    proxy.silenceCurrent();
    const outcomes = await follower.relay.forward(commits(1));
    expect(outcomes).toEqual([{ type: 'committed', position: 1 }]);
    expect(follower.errors.map((error) => error.message)).toContainEqual(expect.stringMatching(/was silent for more than 2000 ms/));
    expect(proxy.connections).toBe(2);
  });

  it("reports a batch the leader failed with 'unknown', when asked by status after a broken link", async () => {
    const { proxy, leader, follower } = await proxiedLeader();
    leader.host.hold();
    leader.host.failure = new LogStoreError({ store: 'test', message: 'connection lost during commit', outcome: 'unknown' });
    const pending = rejection(follower.relay.forward(commits(1)));
    await until(() => leader.host.admitted.length === 1, 'the leader admitted the commit');
    proxy.cut();
    await until(() => proxy.connections === 2 && follower.relay.route === 'follow', 'the follower linked again');
    leader.host.release();
    const error = await pending;
    expect(isOrdoError(error, 'LOG_STORE_FAILED') && error.outcome).toBe('unknown');
    expect((error as Error).message).toMatch(/connection lost during commit/);
  });

  it("a closing leader answers what it admitted, refuses what comes after with 'not-written', then resigns", async () => {
    const { board, leader, followers } = await leaderAndFollowers(1);
    const [follower] = followers as [Process];
    board.claimsAllowed = false;
    leader.host.hold();
    const admitted = follower.relay.forward(commits(1));
    await until(() => leader.host.admitted.length === 1, 'the leader admitted the commit');
    const closing = leader.relay.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const late = await rejection(follower.relay.forward(commits(1)));
    expect(isOrdoError(late, 'LOG_STORE_FAILED') && late.outcome).toBe('not-written');
    leader.host.release();
    expect(await admitted).toEqual([{ type: 'committed', position: 1 }]);
    await closing;
    expect(board.current).toBeUndefined();
    expect(leader.host.admitted).toHaveLength(1);
  });

  it("reports 'unknown' when neither the leader's status nor the election settles a broken link within settleMsMax", async () => {
    const { proxy, leader, follower } = await proxiedLeader({ settleMsMax: 400 });
    leader.host.hold();
    const pending = rejection(follower.relay.forward(commits(1)));
    await until(() => leader.host.admitted.length === 1, 'the leader admitted the commit');
    proxy.cut();
    // The leader's term goes on, and it waits for the commit in flight before it answers.
    const error = await pending;
    expect(isOrdoError(error, 'LOG_STORE_FAILED') && error.outcome).toBe('unknown');
    expect((error as Error).message).toMatch(/within settleMsMax \(400 ms\)/);
    expect(proxy.connections).toBe(2);
    leader.host.release();
  });

  it("rejects a forward at once with 'not-written' while no leader is linked", async () => {
    const board = new MemoryElectionBoard();
    const log = new FakeLog();
    const early = relayProcess(board, log);
    // Before the relay listens and found a route.
    const before = await rejection(early.relay.forward(commits(1)));
    expect(isOrdoError(before, 'LOG_STORE_FAILED') && before.outcome).toBe('not-written');

    // A leader on record that nobody can reach.
    const unreachable = new MemoryElectionBoard();
    unreachable.install('127.0.0.1:1', unreachable.election());
    const stranded = relayProcess(unreachable, log);
    await until(() => stranded.errors.length > 0, 'the relay tried to link');
    expect(stranded.relay.route).toBe('direct');
    const error = await rejection(stranded.relay.forward(commits(1)));
    expect(isOrdoError(error, 'LOG_STORE_FAILED') && error.outcome).toBe('not-written');
    expect(log.head).toBe(0);
  });

  it("passes the leader's 'not-written' failure on as LogStoreError 'not-written'", async () => {
    const { leader, followers } = await leaderAndFollowers(1);
    leader.host.failure = new LogStoreError({ store: 'test', message: 'disk on fire', outcome: 'not-written' });
    const error = await rejection((followers[0] as Process).relay.forward(commits(2)));
    expect(isOrdoError(error, 'LOG_STORE_FAILED') && error.outcome).toBe('not-written');
    expect((error as Error).message).toMatch(/disk on fire/);
  });

  it('close lets pending forwards settle first, and reports the ones that cannot as unknown', async () => {
    const { leader, followers } = await leaderAndFollowers(2, { settleMsMax: 300 });
    const [patient, impatient] = followers as [Process, Process];
    leader.host.hold();
    const sent = commits(1);
    const forward = patient.relay.forward(sent);
    await until(() => leader.host.admitted.length === 1, 'the leader admitted the commit');
    let closed = false;
    const closing = patient.relay.close().then(() => {
      closed = true;
    });
    expect(patient.relay.route).toBe('direct');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    leader.host.release();
    expect(await forward).toEqual([{ type: 'committed', position: 1 }]);
    await closing;

    // A forward the leader does not answer in time: close gives up after settleMsMax and says unknown.
    leader.host.hold();
    const stuck = rejection(impatient.relay.forward(commits(1)));
    await until(() => leader.host.admitted.length === 2, 'the leader admitted the second commit');
    await impatient.relay.close();
    const error = await stuck;
    expect(isOrdoError(error, 'LOG_STORE_FAILED') && error.outcome).toBe('unknown');
    leader.host.release();
  });

  it('closes a link that sends a malformed frame and reports why', async () => {
    const { board, leader } = await leaderAndFollowers(0);
    const term = board.current?.term as string;
    const socket = connect(Number(leader.relay.listenAddress?.split(':')[1]), '127.0.0.1');
    const decoder = new FrameDecoder({ store: 'test', frameBytesMax: 1024 });
    const received: unknown[] = [];
    let ended = false;
    socket.on('data', (chunk: Buffer) => received.push(...decoder.push(chunk)));
    socket.on('close', () => {
      ended = true;
    });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(encodeFrame({ type: 'hello', protocol: 1, term, follower: 'raw' }, { store: 'test', frameBytesMax: 1024 }));
    await until(() => received.length === 1, 'the leader welcomed the raw link');
    expect(received[0]).toEqual({ type: 'welcome', term });
    socket.write(encodeFrame({ type: 'commit', id: 'seven', commits: [] }, { store: 'test', frameBytesMax: 1024 }));
    await until(() => ended, 'the leader closed the link');
    expect(leader.errors.map((error) => error.message)).toEqual(["test log store: malformed relay frame: 'commit' has a bad 'id'"]);

    const oversize = connect(Number(leader.relay.listenAddress?.split(':')[1]), '127.0.0.1');
    let oversizeEnded = false;
    oversize.on('close', () => {
      oversizeEnded = true;
    });
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xffff_ffff, 0);
    oversize.write(header);
    await until(() => oversizeEnded, 'the leader closed the oversize link');
    expect(leader.errors[1]?.message).toMatch(/refused a relay frame of 4294967295 bytes: more than frameBytesMax/);

    // A follower of another protocol version is refused, with the reason.
    const other = connect(Number(leader.relay.listenAddress?.split(':')[1]), '127.0.0.1');
    const otherDecoder = new FrameDecoder({ store: 'test', frameBytesMax: 1024 });
    const answers: unknown[] = [];
    other.on('data', (chunk: Buffer) => answers.push(...otherDecoder.push(chunk)));
    other.write(encodeFrame({ type: 'hello', protocol: 2, term, follower: 'future' }, { store: 'test', frameBytesMax: 1024 }));
    await until(() => answers.length === 1, 'the leader answered the hello');
    expect(answers[0]).toEqual({ type: 'refused', reason: 'the follower speaks relay protocol 2, this leader 1' });
  });

  it('keeps no process alive: relays never closed let a child process exit once its forward was answered', async () => {
    const script = fileURLToPath(new URL('../../../test-support/relay/unclosed-relays.ts', import.meta.url));
    const root = fileURLToPath(new URL('../../../../../', import.meta.url));
    const result = await new Promise<{ code: number | null; signal: string | null; stdout: string }>((resolve) => {
      const child = execFile(globalThis.process.execPath, ['--conditions=@ordo/source', '--import', 'tsx', script], { cwd: root, timeout: 30_000 }, (_error, stdout) =>
        resolve({ code: child.exitCode, signal: child.signalCode, stdout }),
      );
    });
    expect(result).toEqual({ code: 0, signal: null, stdout: 'forwarded [{"type":"committed","position":1}]\n' });
  });
});
