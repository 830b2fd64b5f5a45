/**
 * Run as a child process by the relay's tests: a leader and a follower relay that forward one
 * commit and are never closed. The process must still exit by itself: no timer, server or
 * socket of the relay keeps it alive.
 */
import { TcpCommitRelay } from '../../src/log-stores/relay/tcp-relay.js';
import { FakeLog, FakeRelayHost } from './fake-relay-host.js';
import { MemoryElectionBoard } from './memory-relay-election.js';

const board = new MemoryElectionBoard();
const log = new FakeLog();
const relays = [0, 1].map(() => {
  const host = new FakeRelayHost(log);
  const relay = new TcpCommitRelay(board.election(), { store: 'child', checkMs: 20 });
  host.appended = (records) => relay.appended(records);
  relay.start(host);
  return relay;
});

const deadline = Date.now() + 10_000;
const poll = setInterval(() => {
  const follower = relays.find((relay) => relay.route === 'follow');
  if (Date.now() > deadline) {
    clearInterval(poll);
    process.stdout.write('no route\n');
    process.exitCode = 1;
  }
  if (follower === undefined || !relays.some((relay) => relay.route === 'lead')) return;
  clearInterval(poll);
  follower.forward([{ txId: 'child-1', base: 0, entities: [], values: [], kinds: [], changes: [] }]).then(
    (outcomes) => process.stdout.write(`forwarded ${JSON.stringify(outcomes)}\n`),
    (error: unknown) => {
      process.stdout.write(`failed ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}, 10);
