import { describe, expect, it } from 'vitest';
import { LogStoreError, memoryLog, openStore, RelayFencedError, type CommitRelay, type LogRecord, type LogStore, type RelayedCommit, type RelayedOutcome, type RelayHost, type Store } from '@ordo/core';
import { Counter, failure, Host, open, Vm } from '../test-support/model.js';

/**
 * Stores in one process sharing one memory log, with a relay that hands commits from store to
 * store in memory: the core's side of the relay (what the leader admits, how followers settle)
 * without a network. Records and commits cross as JSON copies, as they would over a socket.
 */
class Hub {
  leader: MemoryRelay | undefined;
  readonly followers = new Set<MemoryRelay>();
  appends = 0;
  appendedRecords = 0;
  /** Appends that held commits of more than one store. */
  sharedAppends = 0;
  readonly appenders = new Set<MemoryRelay>();
}

class MemoryRelay implements CommitRelay {
  host: RelayHost | undefined;
  index = 0;
  /** Replaces the leader's answer to the next forward (a fault). */
  nextForward: ((commits: readonly RelayedCommit[], leader: RelayHost) => Promise<RelayedOutcome[]>) | undefined;

  constructor(
    private readonly hub: Hub,
    public leads: boolean,
  ) {}

  start(host: RelayHost): void {
    this.host = host;
    if (this.leads) this.hub.leader = this;
    else this.hub.followers.add(this);
  }

  get term(): string | undefined {
    return this.hub.leader === this ? 'memory' : undefined;
  }

  get route(): 'lead' | 'follow' | 'direct' {
    if (this.leads) return this.hub.leader === this ? 'lead' : 'direct';
    return this.hub.leader === undefined ? 'direct' : 'follow';
  }

  async forward(commits: readonly RelayedCommit[]): Promise<RelayedOutcome[]> {
    const leader = this.hub.leader?.host;
    if (leader === undefined) throw new LogStoreError({ store: 'memory', message: 'no leader', outcome: 'not-written' });
    for (const commit of commits) origins.set(commit.txId, this.index);
    const copies = JSON.parse(JSON.stringify(commits)) as RelayedCommit[];
    const fault = this.nextForward;
    this.nextForward = undefined;
    return fault === undefined ? leader.admit(copies) : fault(copies, leader);
  }

  appended(records: readonly LogRecord[]): void {
    for (const follower of this.hub.followers) follower.host?.offer(JSON.parse(JSON.stringify(records)) as LogRecord[]);
  }

  async close(): Promise<void> {
    if (this.hub.leader === this) this.hub.leader = undefined;
    this.hub.followers.delete(this);
  }
}

/** Hands the lead to `to`: the old leader follows from now on. */
function moveLead(hub: Hub, relays: readonly MemoryRelay[], to: MemoryRelay): void {
  for (const relay of relays) {
    relay.leads = relay === to;
    if (relay === to) hub.followers.delete(relay);
    else hub.followers.add(relay);
  }
  hub.leader = to;
}

function touchClockOf(store: Store): unknown {
  return (store as unknown as { state: { touches: unknown } }).state.touches;
}

/** One store per "process": its own view of the shared log, with its own relay. */
/** txId -> the store that ran it (ids are unique per process: each store has its own ULID source). */
const origins = new Map<string, number>();

function relayedLog(shared: LogStore, hub: Hub, leads: boolean, index: number): { log: LogStore; relay: MemoryRelay } {
  const relay = new MemoryRelay(hub, leads);
  relay.index = index;
  const log: LogStore = {
    name: 'memory',
    multiWriter: true,
    open: () => shared.open(),
    append: async (records) => {
      // An append takes a while, as one to a database does: commits queue up meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 1));
      await shared.append(records);
      hub.appends += 1;
      hub.appendedRecords += records.length;
      hub.appenders.add(relay);
      if (new Set(records.map((record) => origins.get(record.txId))).size > 1) hub.sharedAppends += 1;
    },
    read: (from, limit) => shared.read(from, limit),
    head: () => shared.head(),
    subscribe: (listener) => shared.subscribe(listener),
    close: async () => undefined,
    relay,
  };
  return { log, relay };
}

async function openThree(): Promise<{ shared: LogStore; hub: Hub; stores: Store[]; relays: MemoryRelay[] }> {
  const shared = memoryLog();
  const hub = new Hub();
  const parts = [relayedLog(shared, hub, true, 0), relayedLog(shared, hub, false, 1), relayedLog(shared, hub, false, 2)];
  const stores = await Promise.all(parts.map(({ log }) => open(log)));
  return { shared, hub, stores, relays: parts.map(({ relay }) => relay) };
}

describe('a commit relay: followers commit through the leader of a shared log', () => {
  it('serializes the commits of three stores through one leader: no lost update, gapless, one state, shared appends', async () => {
    const { shared, hub, stores, relays } = await openThree();
    await Promise.all(Array.from({ length: 300 }, (_, index) => stores[index % 3]!.transact((tx) => tx.create(Vm, { name: `vm-${index}`, memoryMiB: 1 }))));
    // Creates of distinct entities from three stores share appends.
    expect(hub.appends).toBeLessThan(30);
    expect(hub.sharedAppends).toBeGreaterThan(0);
    // A hot entity: one update per append at most, the others rerun; none is lost.
    await stores[1]!.transact((tx) => tx.create(Counter, { value: 0 }, { id: 'c' }));
    const increments = Array.from({ length: 150 }, (_, index) =>
      stores[index % 3]!.transact((tx) => tx.update(Counter, 'c', (draft) => void (draft.value += 1)), { retries: 1000 }),
    );
    await Promise.all(increments);
    await Promise.all(stores.map((store) => store.sync()));
    for (const store of stores) expect(store.get(Counter, 'c')?.data.value).toBe(150);
    expect(stores[1]!.dump()).toEqual(stores[0]!.dump());
    expect(stores[2]!.dump()).toEqual(stores[0]!.dump());
    const records = await shared.read(1, 1000);
    expect(records.map((record) => record.position)).toEqual(Array.from({ length: records.length }, (_, index) => index + 1));
    // Every record went in through the leader.
    expect(hub.appendedRecords).toBe(records.length);
    expect([...hub.appenders]).toEqual([relays[0]]);
  });

  it('keeps a unique value unique when two followers claim it in the same batch', async () => {
    const { stores } = await openThree();
    const results = await Promise.allSettled([1, 2].map((index) => stores[index]!.transact((tx) => tx.create(Host, { name: 'h1', memoryMiB: 1024 }))));
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = results.find((result) => result.status === 'rejected');
    expect((rejected?.reason as { code?: string }).code).toBe('UNIQUE_VIOLATION');
    await Promise.all(stores.map((store) => store.sync()));
    for (const store of stores) expect(store.list(Host)).toHaveLength(1);
  });

  it('declines what the leader cannot check (a kind its model lacks): followers append it themselves, unique values stay unique', async () => {
    const shared = memoryLog();
    const hub = new Hub();
    const leader = relayedLog(shared, hub, true, 0);
    // The leader runs an older model, without hosts: it cannot tell who holds a host name.
    await openStore({ entities: [Counter], log: leader.log });
    const followers = await Promise.all([1, 2].map((index) => open(relayedLog(shared, hub, false, index).log)));
    const results = await Promise.allSettled(followers.map((store) => store.transact((tx) => tx.create(Host, { name: 'h1', memoryMiB: 1024 }))));
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(((results.find((result) => result.status === 'rejected') as PromiseRejectedResult).reason as { code?: string }).code).toBe('UNIQUE_VIOLATION');
    expect((await shared.read(1, 100)).filter((record) => record.changes.some((change) => change.kind === 'host'))).toHaveLength(1);
    // What it can check (a counter by id) still goes through it.
    const counter = await followers[0]!.transact((tx) => tx.create(Counter, { value: 1 }));
    expect(counter.type).toBe('committed');
    // The follower whose host went in appended it, the leader appended the counter.
    expect(hub.appenders.size).toBe(2);
    expect(hub.appenders.has(leader.relay)).toBe(true);
  });

  it('writes one record for a requestId sent by two followers at once; both get its outcome', async () => {
    const { shared, stores } = await openThree();
    const run = (store: Store) => store.transact((tx) => tx.create(Counter, { value: 5 }).id, { requestId: 'req-1' });
    const [first, second] = await Promise.all([run(stores[1]!), run(stores[2]!)]);
    expect(first.value).toBe(second.value);
    expect([first.replayed, second.replayed].sort()).toEqual([false, true]);
    expect((await shared.read(1, 100)).filter((record) => record.requestId === 'req-1')).toHaveLength(1);
  });

  it('prevents write skew across processes: a predicate read that the leader changed reruns', async () => {
    const { stores } = await openThree();
    const host = (await stores[0]!.transact((tx) => tx.create(Host, { name: 'h', memoryMiB: 4 }))).value;
    await Promise.all(stores.map((store) => store.sync()));
    // Each places a VM only while the host has room: capacity 4, each VM 1, 12 attempts.
    const place = (store: Store, index: number) =>
      store.transact(
        (tx) => {
          const used = tx.find(Vm, { hostId: host.id }).reduce((sum, vm) => sum + vm.data.memoryMiB, 0);
          if (used + 1 > host.data.memoryMiB) return false;
          tx.create(Vm, { name: `p-${index}`, hostId: host.id, memoryMiB: 1 });
          return true;
        },
        { retries: 1000 },
      );
    const placed = await Promise.all(Array.from({ length: 12 }, (_, index) => place(stores[index % 3]!, index)));
    expect(placed.filter((result) => result.value === true)).toHaveLength(4);
    await Promise.all(stores.map((store) => store.sync()));
    for (const store of stores) expect(store.find(Vm, { hostId: host.id })).toHaveLength(4);
  });

  it('settles a forward whose link broke after the fenced leader appended it: committed once, not again', async () => {
    const { shared, stores, relays } = await openThree();
    relays[1]!.nextForward = async (commits, leader) => {
      await leader.admit(commits);
      throw new RelayFencedError({ store: 'memory', txIds: commits.map((commit) => commit.txId) });
    };
    const result = await stores[1]!.transact((tx) => tx.create(Counter, { value: 1 }, { id: 'once' }));
    expect(result.type).toBe('committed');
    const records = await shared.read(1, 100);
    expect(records.filter((record) => record.changes.some((change) => change.id === 'once'))).toHaveLength(1);
    expect(result.position).toBe(records.find((record) => record.changes.some((change) => change.id === 'once'))?.position);
  });

  it('commits again what a fenced leader never appended', async () => {
    const { shared, stores, relays } = await openThree();
    relays[2]!.nextForward = async (commits) => {
      throw new RelayFencedError({ store: 'memory', txIds: commits.map((commit) => commit.txId) });
    };
    const result = await stores[2]!.transact((tx) => tx.create(Counter, { value: 1 }, { id: 'lost' }));
    expect(result.type).toBe('committed');
    expect((await shared.read(1, 100)).filter((record) => record.changes.some((change) => change.id === 'lost'))).toHaveLength(1);
  });

  it('appends directly when the leader took nothing (not-written), and reports an unknown outcome as it is', async () => {
    const { shared, stores, relays } = await openThree();
    relays[1]!.nextForward = async () => {
      throw new LogStoreError({ store: 'memory', message: 'leader resigned', outcome: 'not-written' });
    };
    const direct = await stores[1]!.transact((tx) => tx.create(Counter, { value: 1 }, { id: 'direct' }));
    expect(direct.type).toBe('committed');
    relays[1]!.nextForward = async () => {
      throw new LogStoreError({ store: 'memory', message: 'link lost', outcome: 'unknown' });
    };
    const unknown = await failure(stores[1]!.transact((tx) => tx.create(Counter, { value: 1 }, { id: 'unknown' })));
    expect(unknown.code).toBe('LOG_STORE_FAILED');
    expect((await shared.read(1, 100)).filter((record) => record.changes.some((change) => change.id === 'direct'))).toHaveLength(1);
  });

  it('refuses a relayed commit whose reads predate what the leader can check, and the follower reruns it', async () => {
    const { stores } = await openThree();
    await stores[1]!.transact((tx) => tx.create(Counter, { value: 0 }, { id: 'x' }));
    await Promise.all(stores.map((store) => store.sync()));
    let runs = 0;
    const relay = (stores[1] as unknown as { relay: MemoryRelay }).relay;
    relay.nextForward = (commits, leader) => leader.admit(commits.map((commit) => ({ ...commit, base: -1 })));
    const result = await stores[1]!.transact((tx) => {
      runs += 1;
      return tx.update(Counter, 'x', { value: 1 });
    });
    expect(result.type).toBe('committed');
    expect(runs).toBe(2);
  });

  it('keeps a touch clock only on the leader; a new leader checks reads from where it took over, and a read it saw change reruns', async () => {
    const { stores, hub, relays } = await openThree();
    await stores[2]!.transact((tx) => tx.create(Counter, { value: 0 }, { id: 'x' }));
    expect(touchClockOf(stores[0]!)).toBeDefined();
    expect(touchClockOf(stores[1]!)).toBeUndefined();
    expect(touchClockOf(stores[2]!)).toBeUndefined();
    moveLead(hub, relays, relays[1]!);
    await Promise.all(stores.map((store) => store.sync()));
    // Read at the position the new leader took over from: checked and committed at once.
    let runs = 0;
    await stores[2]!.transact((tx) => {
      runs += 1;
      tx.update(Counter, 'x', (draft) => void (draft.value += 1));
    });
    expect(runs).toBe(1);
    expect(touchClockOf(stores[1]!)).toBeDefined();
    // The old leader follows now and drops its clock with its next fold.
    await stores[0]!.sync();
    await stores[0]!.transact((tx) => tx.create(Counter, { value: 0 }, { id: 'y' }));
    expect(touchClockOf(stores[0]!)).toBeUndefined();
    // The new leader commits its own increment between a follower's read and its forward: the
    // follower's read changed after its base, so it reruns, and neither increment is lost.
    runs = 0;
    relays[2]!.nextForward = async (commits, leader) => {
      await stores[1]!.transact((tx) => tx.update(Counter, 'x', (draft) => void (draft.value += 1)));
      return leader.admit(commits);
    };
    await stores[2]!.transact((tx) => {
      runs += 1;
      tx.update(Counter, 'x', (draft) => void (draft.value += 1));
    });
    expect(runs).toBe(2);
    await Promise.all(stores.map((store) => store.sync()));
    for (const store of stores) expect(store.get(Counter, 'x')?.data.value).toBe(3);
  });

  it('reads the log before rerunning a commit whose reads predate the new leader: a lagging follower commits on its second run', async () => {
    const { shared, stores, hub, relays } = await openThree();
    await stores[2]!.transact((tx) => tx.create(Counter, { value: 0 }, { id: 'x' }));
    await Promise.all(stores.map((store) => store.sync()));
    // A writer without the relay appends; the coming leader reads it, the follower, which gets
    // no stream for now, only when it reads the log.
    hub.followers.delete(relays[2]!);
    const direct = await open(shared);
    for (let index = 0; index < 3; index += 1) await direct.transact((tx) => tx.create(Counter, { value: index }));
    await stores[1]!.sync();
    moveLead(hub, relays, relays[1]!);
    hub.followers.delete(relays[2]!);
    // The new leader's clock starts here, after what the follower has folded.
    await stores[1]!.transact((tx) => tx.create(Counter, { value: 9 }));
    expect(stores[2]!.position).toBeLessThan(stores[1]!.position - 1);
    let runs = 0;
    await stores[2]!.transact((tx) => {
      runs += 1;
      tx.update(Counter, 'x', (draft) => void (draft.value += 1));
    });
    expect(runs).toBe(2);
    await direct.close();
  });
});
