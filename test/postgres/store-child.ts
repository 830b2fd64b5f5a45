import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { isOrdoError, openStore, type Store } from '@ordo/core';
import { Counter, counterIds, Item } from './counter-model.js';
import { logFromArgs } from './shared-log-target.js';

/**
 * A child process with its own store on a shared log (PostgreSQL or etcd). It reads one JSON command per
 * line on stdin and answers with one JSON line per event on stdout:
 * - { cmd: 'increment', id }            -> { event: 'incremented', position, value, txId }
 * - { cmd: 'readCounter', id }          -> { event: 'read', value, position } (read-only transaction)
 * - { cmd: 'contend', ... }             -> many { event: 'ack', ... }, then { event: 'contended', ... }
 * - { cmd: 'requests', count, startAt, children } -> { event: 'requested', outcomes: [{ requestId, position, txId, value }] }
 * - { cmd: 'close' }                    -> exits
 * Started as `node --conditions=@ordo/source --import tsx store-child.ts <worker> postgres <url> <schema>`
 * (or `... <worker> etcd <endpoints> <prefix>`).
 */
const [workerText, kind, location, name] = process.argv.slice(2);
if (workerText === undefined) throw new Error('usage: store-child <worker> postgres <url> <schema> | etcd <endpoints> <prefix>');
const worker = Number(workerText);
const readPageRecords = 5_000;

const log = logFromArgs(kind, location, name);
const store = await openStore({ entities: [Counter, Item], log, retries: 5_000 });
send({ event: 'ready', position: store.position });

function send(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

interface ContendCommand {
  readonly cmd: 'contend';
  readonly increments: number;
  readonly creates: number;
  readonly callers: number;
  readonly counters: number;
  readonly names: number;
}

// Runs of transaction functions, reruns after conflicts included: shows how contended a run was.
let attempts = 0;

async function increment(id: string): Promise<{ position: number; value: number; txId: string }> {
  const result = await store.transact((tx) => {
    attempts += 1;
    const counter = tx.require(Counter, id);
    tx.update(Counter, id, { value: counter.data.value + 1 });
    return counter.data.value + 1;
  });
  // An increment always writes: its result is a committed record's.
  if (result.type !== 'committed') throw new Error(`increment gave a ${result.type} result`);
  return { position: result.position, value: result.value, txId: result.txId };
}

/** Runs increments and creates from several callers at once; every acknowledgement is reported. */
async function contend(command: ContendCommand): Promise<void> {
  const ids = counterIds(command.counters);
  const work: ('increment' | 'create')[] = [
    ...Array.from({ length: command.increments }, () => 'increment' as const),
    ...Array.from({ length: command.creates }, () => 'create' as const),
  ].sort(() => Math.random() - 0.5);
  let taken = 0;
  let duplicates = 0;
  const caller = async (): Promise<void> => {
    for (let next = work.pop(); next !== undefined; next = work.pop()) {
      if (next === 'increment') {
        const id = ids[Math.floor(Math.random() * ids.length)]!;
        send({ event: 'ack', kind: 'increment', id, ...(await increment(id)) });
        continue;
      }
      const name = `item-${Math.floor(Math.random() * command.names)}`;
      try {
        const result = await store.transact((tx) => tx.create(Item, { name, worker }).id);
        send({ event: 'ack', kind: 'create', name, position: result.position, txId: result.txId });
      } catch (error) {
        if (!isOrdoError(error, 'UNIQUE_VIOLATION')) throw error;
        duplicates += 1;
      }
      taken += 1;
    }
  };
  await Promise.all(Array.from({ length: command.callers }, () => caller()));
  await store.sync();
  // With a commit relay: whether this process led, followed, or appended on its own at the end.
  send({ event: 'contended', head: store.position, digest: await digest(store), duplicates, taken, attempts, route: log.relay?.route });
}

/** A hash of (position, txId) of every record up to this store's head: the order it read. */
async function digest(source: Store): Promise<string> {
  const hash = createHash('sha256');
  const head = source.position;
  for (let from = 1; from <= head; ) {
    const page = await source.read({ from, limit: Math.min(readPageRecords, head - from + 1) });
    for (const record of page) hash.update(`${record.position}:${record.txId}\n`);
    from += page.length;
  }
  return hash.digest('hex');
}

/**
 * Runs the same requests every other child runs, each with its own requestId, one after the
 * other, starting at a different one in each child: whichever process commits a request
 * first, every process must get that one outcome (I7). Each child commits the request it
 * starts at, then waits until all `children` have committed theirs: so every child wins at
 * least one request, and gets the outcomes of requests other processes won, however the
 * machine schedules them. After that they race through the rest.
 */
async function requests(count: number, startAt: number, children: number): Promise<void> {
  // Every child starts at the same wall-clock time (they share the machine's clock).
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
  const outcomes = [];
  for (let step = 0; step < count; step += 1) {
    const index = (step + worker * Math.ceil(count / children)) % count;
    const requestId = `request-${index}`;
    const result = await store.transact((tx) => tx.create(Item, { name: `requested-${index}`, worker }).id, { requestId });
    outcomes.push({ requestId, position: result.position, txId: result.txId, value: result.value });
    if (step === 0) await untilItems(children);
  }
  send({ event: 'requested', outcomes });
}

/** Waits until the log holds `count` items (every child's first request). */
async function untilItems(count: number): Promise<void> {
  for (;;) {
    await store.sync();
    if (store.list(Item).length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function handle(line: string): Promise<void> {
  const command = JSON.parse(line) as { cmd: string; id?: string; count?: number; startAt?: number; children?: number };
  if (command.cmd === 'increment') send({ event: 'incremented', ...(await increment(command.id!)) });
  else if (command.cmd === 'readCounter') {
    const result = await store.transact((tx) => tx.require(Counter, command.id!).data.value);
    send({ event: 'read', value: result.value, position: result.position });
  } else if (command.cmd === 'contend') await contend(command as unknown as ContendCommand);
  else if (command.cmd === 'requests') await requests(command.count!, command.startAt ?? 0, command.children ?? 1);
  else if (command.cmd === 'close') {
    await store.close();
    process.exit(0);
  } else throw new Error(`unknown command ${command.cmd}`);
}

// Commands run one after another, in the order they arrive.
let chain = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  chain = chain.then(() => handle(line)).catch((error: unknown) => {
    send({ event: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.exit(1);
  });
});
