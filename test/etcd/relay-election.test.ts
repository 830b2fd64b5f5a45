import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isOrdoError, LogHeadMovedError, LogStoreError, type LogRecord } from '@ordo/core';
import { etcdLog, type EtcdLogStore } from '@ordo/adapters/etcd';
import { records } from '../conformance/log-store-conformance.js';
import { describeWithCluster, uniquePrefix } from './etcd-test-env.js';

// The relay lead of an etcd log (relay-election.ts): stores on one prefix, each with its own
// client and so its own connections, as processes would have, on a real 3-member cluster.
const opened: EtcdLogStore[] = [];

function recordsOf(writer: string, from: number, count: number): LogRecord[] {
  return records(from, count).map((record) => ({ ...record, txId: `${writer}-${record.position}` }));
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

function electionOf(store: EtcdLogStore): NonNullable<EtcdLogStore['relayElection']> {
  if (store.relayElection === undefined) throw new Error('the store has no relay election');
  return store.relayElection;
}

async function waitUntil(condition: () => Promise<boolean>, what: string, triesMax = 300): Promise<void> {
  for (let tries = 0; tries < triesMax; tries += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}

describeWithCluster('etcd log: the relay lead (a key on a lease)', (cluster) => {
  let admin: Etcd3 | undefined;

  async function openStores(prefix: string, count: number): Promise<EtcdLogStore[]> {
    const stores = Array.from({ length: count }, () => etcdLog({ endpoints: cluster().endpoints, prefix, relay: {} }));
    opened.push(...stores);
    for (const store of stores) await store.open();
    return stores;
  }

  async function relayKey(prefix: string): Promise<{ lease: string; createRevision: string } | undefined> {
    const response = await admin!.kv.range({ key: Buffer.from(`${prefix}/relay`) });
    const kv = response.kvs[0];
    return kv === undefined ? undefined : { lease: kv.lease, createRevision: kv.create_revision };
  }

  async function batchKeys(prefix: string): Promise<string[]> {
    return admin!.getAll().prefix(`${prefix}/log/`).keys();
  }

  beforeAll(() => {
    admin = new Etcd3({ hosts: cluster().endpoints });
  });
  afterAll(async () => {
    for (const store of opened) await store.close();
    admin?.close();
  });

  it('of two stores claiming at once exactly one leads, and leader() shows it to both', async () => {
    const prefix = uniquePrefix('relay-claim');
    const [first, second] = await openStores(prefix, 2);
    const terms = await Promise.all([electionOf(first!).claim('127.0.0.1:7001'), electionOf(second!).claim('127.0.0.1:7002')]);
    const winners = terms.filter((term) => term !== undefined);
    expect(winners).toHaveLength(1);
    const winner = terms[0] !== undefined ? 0 : 1;
    const term = winners[0]!;
    const expected = { address: winner === 0 ? '127.0.0.1:7001' : '127.0.0.1:7002', term };
    expect(await electionOf(first!).leader()).toEqual(expected);
    expect(await electionOf(second!).leader()).toEqual(expected);
    expect(electionOf(winner === 0 ? second! : first!).term).toBeUndefined();
    // The leader renewing its claim while the other claims again: the lead stays, the other loses.
    const renewed = await Promise.all([
      electionOf(winner === 0 ? first! : second!).claim('127.0.0.1:7009'),
      electionOf(winner === 0 ? second! : first!).claim('127.0.0.1:7009'),
    ]);
    expect(renewed).toEqual([term, undefined]);
    // The key outlives several keepalive periods while its holder renews it.
    const key = await relayKey(prefix);
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(await relayKey(prefix)).toEqual(key);
    expect(electionOf(winner === 0 ? first! : second!).term).toBe(term);
  });

  it('claims racing each other, round after round: exactly one wins each round, and resign frees the lead for the next', async () => {
    const prefix = uniquePrefix('relay-race');
    const stores = await openStores(prefix, 3);
    const rounds = 8;
    for (let round = 0; round < rounds; round += 1) {
      const terms = await Promise.all(stores.map((store, index) => electionOf(store).claim(`127.0.0.1:${8000 + index}`)));
      const winners = terms.flatMap((term, index) => (term === undefined ? [] : [index]));
      expect(winners, `round ${round}`).toHaveLength(1);
      const winner = winners[0]!;
      expect(await electionOf(stores[(winner + 1) % 3]!).leader()).toEqual({ address: `127.0.0.1:${8000 + winner}`, term: terms[winner] });
      // Two claims at once by the winner itself: one lead, one lease.
      const again = await Promise.all([electionOf(stores[winner]!).claim('127.0.0.1:1'), electionOf(stores[winner]!).claim('127.0.0.1:1')]);
      expect(again).toEqual([terms[winner], terms[winner]]);
      await electionOf(stores[winner]!).resign();
      expect(electionOf(stores[winner]!).term).toBeUndefined();
      expect(await relayKey(prefix)).toBeUndefined();
      expect(await electionOf(stores[0]!).leader()).toBeUndefined();
    }
  });

  it('revoking the leader\'s lease ends its lead: onLost fires, term goes, leader() shows none, then another leads', async () => {
    const prefix = uniquePrefix('relay-revoke');
    const [first, second] = await openStores(prefix, 2);
    const term = await electionOf(first!).claim('127.0.0.1:7101');
    expect(term).toBeDefined();
    await first!.append(recordsOf('a', 1, 2));
    let lostCalls = 0;
    const lost = new Promise<void>((resolve) => electionOf(first!).onLost(resolve));
    electionOf(first!).onLost(() => (lostCalls += 1));
    const key = await relayKey(prefix);
    await admin!.leaseClient.leaseRevoke({ ID: key!.lease });
    expect(await electionOf(second!).leader()).toBeUndefined();
    // The next keepalive answers TTL 0.
    await lost;
    expect(lostCalls).toBe(1);
    expect(electionOf(first!).term).toBeUndefined();
    const next = await electionOf(second!).claim('127.0.0.1:7102');
    expect(next).toBeDefined();
    expect(next).not.toBe(term);
    expect(await electionOf(first!).leader()).toEqual({ address: '127.0.0.1:7102', term: next });
    // Not leading, the old leader appends as any other writer; the new lead is untouched.
    await first!.append(recordsOf('a', 3, 1));
    expect(await second!.head()).toBe(3);
    expect(electionOf(second!).term).toBe(next);
    expect(lostCalls).toBe(1);
  });

  it('an append that compares a stale lead fails with not-written and writes nothing; the store learns it lost the lead', async () => {
    const prefix = uniquePrefix('relay-stale');
    const [first, second] = await openStores(prefix, 2);
    await first!.append(recordsOf('a', 1, 1));
    const term = await electionOf(first!).claim('127.0.0.1:7201');
    expect(term).toBeDefined();
    await first!.append(recordsOf('a', 2, 1));
    // The key goes behind the leader's back while its lease lives on (its keepalives succeed,
    // so only the append's compare can tell), and another store leads.
    await admin!.delete().key(`${prefix}/relay`);
    const next = await electionOf(second!).claim('127.0.0.1:7202');
    expect(next).toBeDefined();
    expect(electionOf(first!).term).toBe(term);
    let lostCalls = 0;
    electionOf(first!).onLost(() => (lostCalls += 1));
    const keysBefore = await batchKeys(prefix);
    const error = await failure(first!.append(recordsOf('a', 3, 1)));
    expect(error).toBeInstanceOf(LogStoreError);
    expect((error as LogStoreError).outcome).toBe('not-written');
    expect(String(error)).toMatch(/relay lead/);
    expect(lostCalls).toBe(1);
    expect(electionOf(first!).term).toBeUndefined();
    expect(await second!.head()).toBe(2);
    expect(await batchKeys(prefix)).toEqual(keysBefore);
    // The new lead is not disturbed by the old one giving up its lease.
    expect(await electionOf(first!).leader()).toEqual({ address: '127.0.0.1:7202', term: next });
    expect(electionOf(second!).term).toBe(next);
    // The leader appends under its own lead; the old one, now plain, appends after it.
    await second!.append(recordsOf('b', 3, 1));
    await first!.append(recordsOf('a', 4, 1));
    expect(await second!.head()).toBe(4);
  });

  it('while leading, a moved head is still a moved head (not a lost lead), and the lead stays', async () => {
    const prefix = uniquePrefix('relay-moved');
    const [first, second] = await openStores(prefix, 2);
    const term = await electionOf(first!).claim('127.0.0.1:7301');
    expect(term).toBeDefined();
    await second!.append(recordsOf('b', 1, 1));
    const error = await failure(first!.append(recordsOf('a', 1, 1)));
    expect(error).toBeInstanceOf(LogHeadMovedError);
    expect(electionOf(first!).term).toBe(term);
    await first!.append(recordsOf('a', 2, 1));
    expect(await second!.head()).toBe(2);
    expect(await electionOf(second!).leader()).toEqual({ address: '127.0.0.1:7301', term });
  });

  it('an append started under the lead that is given up before its transaction is sent is refused', async () => {
    const prefix = uniquePrefix('relay-resign');
    const [first, second] = await openStores(prefix, 2);
    await second!.append(recordsOf('b', 1, 1));
    expect(await electionOf(first!).claim('127.0.0.1:7401')).toBeDefined();
    // first has not seen position 1: its append reads the head before it sends, and the lead
    // is given up meanwhile.
    const append = failure(first!.append(recordsOf('a', 2, 1)));
    const resigned = electionOf(first!).resign();
    const error = await append;
    await resigned;
    expect(error).toBeInstanceOf(LogStoreError);
    expect((error as LogStoreError).outcome).toBe('not-written');
    expect(await second!.head()).toBe(1);
    expect(await electionOf(second!).leader()).toBeUndefined();
  });

  it('refuses a relay key that is not a lead with LOG_CORRUPT, and a store without the option has no election', async () => {
    const prefix = uniquePrefix('relay-corrupt');
    const [first] = await openStores(prefix, 1);
    await admin!.put(`${prefix}/relay`).value('not json');
    const error = await failure(electionOf(first!).leader());
    expect(isOrdoError(error, 'LOG_CORRUPT'), String(error)).toBe(true);
    expect(await electionOf(first!).claim('127.0.0.1:7601')).toBeUndefined();
    const plain = etcdLog({ endpoints: cluster().endpoints, prefix });
    expect(plain.relay).toBeUndefined();
    expect(plain.relayElection).toBeUndefined();
    await plain.close();
  });

  it('a keepalive that gets no answer loses the lead; once the lease expired another store leads', async () => {
    const prefix = uniquePrefix('relay-silent');
    const [first, second] = await openStores(prefix, 2);
    const term = await electionOf(first!).claim('127.0.0.1:7501');
    expect(term).toBeDefined();
    const lost = new Promise<void>((resolve) => electionOf(first!).onLost(resolve));
    const members = cluster().members.map((_, index) => index);
    for (const index of members) cluster().pause(index);
    try {
      await lost;
    } finally {
      for (const index of members) cluster().resume(index);
    }
    expect(electionOf(first!).term).toBeUndefined();
    let next: string | undefined;
    await waitUntil(async () => {
      next = await electionOf(second!).claim('127.0.0.1:7502').catch(() => undefined);
      return next !== undefined;
    }, 'the old lease is gone and the other store leads');
    expect(next).not.toBe(term);
    expect(await electionOf(first!).leader()).toEqual({ address: '127.0.0.1:7502', term: next });
  });
});
