import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isOrdoError, LogStoreError, type LogRecord } from '@ordo/core';
import { postgresLog, type PostgresLogStore } from '@ordo/adapters/postgres';
import { records } from '../conformance/log-store-conformance.js';
import { describePostgres, dropSchemas, pgUrl, uniqueSchema } from './pg-test-env.js';

// The relay lead of a PostgreSQL log (relay-election.ts): two log stores on one schema, each
// with its own pool and so its own server sessions, as two processes would have.
const schemas: string[] = [];
const admin = new pg.Client({ connectionString: pgUrl });
const opened: PostgresLogStore[] = [];
const leadLockKey = 0x4f52444c;

function newSchema(name: string): string {
  const schema = uniqueSchema(name);
  schemas.push(schema);
  return schema;
}

async function openStores(schema: string, count: number, options: { writerTurns?: boolean } = {}): Promise<PostgresLogStore[]> {
  const stores = Array.from({ length: count }, () => postgresLog({ connectionString: pgUrl, schema, relay: {}, ...options }));
  opened.push(...stores);
  for (const store of stores) await store.open();
  return stores;
}

function electionOf(store: PostgresLogStore): NonNullable<PostgresLogStore['relayElection']> {
  if (store.relayElection === undefined) throw new Error('the store has no relay election');
  return store.relayElection;
}

function recordsOf(writer: string, from: number, count: number): LogRecord[] {
  return records(from, count).map((record) => ({ ...record, txId: `${writer}-${record.position}` }));
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

async function waitUntil(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let tries = 0; tries < 500; tries += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** The server sessions that hold the lead lock of `schema` now. */
async function lockHolders(schema: string): Promise<number[]> {
  const result = await admin.query<{ pid: number }>(
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2
       AND classid = $1::int4::oid AND objid = hashtext($2)::oid ORDER BY pid`,
    [leadLockKey, schema],
  );
  return result.rows.map((row) => row.pid);
}

async function leadRow(schema: string): Promise<{ pid: number; term: string; address: string } | undefined> {
  const result = await admin.query<{ pid: number; term: string; address: string }>(`SELECT pid, term, address FROM "${schema}".relay`);
  return result.rows[0];
}

describePostgres('postgres log: the relay lead (an advisory lock on the writer session)', () => {
  beforeAll(() => admin.connect());
  afterAll(async () => {
    for (const store of opened) await store.close();
    await admin.end();
    await dropSchemas(schemas);
  });

  it('of two stores claiming at once exactly one leads, and leader() shows it to both', async () => {
    const schema = newSchema('relay_claim');
    const [first, second] = await openStores(schema, 2);
    const terms = await Promise.all([electionOf(first!).claim('127.0.0.1:7001'), electionOf(second!).claim('127.0.0.1:7002')]);
    const winners = terms.filter((term) => term !== undefined);
    expect(winners).toHaveLength(1);
    const winner = terms[0] !== undefined ? 0 : 1;
    const term = winners[0]!;
    expect([electionOf(first!).term, electionOf(second!).term]).toEqual(winner === 0 ? [term, undefined] : [undefined, term]);
    const expected = { address: winner === 0 ? '127.0.0.1:7001' : '127.0.0.1:7002', term };
    expect(await electionOf(first!).leader()).toEqual(expected);
    expect(await electionOf(second!).leader()).toEqual(expected);
    // The lock is on the session the row names: the winner's writer session, where its appends run.
    const row = await leadRow(schema);
    expect(await lockHolders(schema)).toEqual([row!.pid]);
    // The leader renewing its claim while the other claims again: the lead stays, the other loses.
    const renewed = await Promise.all([
      electionOf(winner === 0 ? first! : second!).claim('127.0.0.1:7009'),
      electionOf(winner === 0 ? second! : first!).claim('127.0.0.1:7009'),
    ]);
    expect(renewed).toEqual([term, undefined]);
    expect(await lockHolders(schema)).toEqual([row!.pid]);
  });

  it('claims racing each other, round after round: exactly one wins each round, and resign frees the lead for the next', async () => {
    const schema = newSchema('relay_race');
    const stores = await openStores(schema, 3);
    const rounds = 12;
    const wins = stores.map(() => 0);
    for (let round = 0; round < rounds; round += 1) {
      const terms = await Promise.all(stores.map((store, index) => electionOf(store).claim(`127.0.0.1:${8000 + index}`)));
      const winners = terms.flatMap((term, index) => (term === undefined ? [] : [index]));
      expect(winners, `round ${round}`).toHaveLength(1);
      const winner = winners[0]!;
      wins[winner] = (wins[winner] ?? 0) + 1;
      expect(await electionOf(stores[(winner + 1) % 3]!).leader()).toEqual({ address: `127.0.0.1:${8000 + winner}`, term: terms[winner] });
      // Two claims at once by the winner itself: one session lock, still one unlock frees it.
      await Promise.all([electionOf(stores[winner]!).claim('127.0.0.1:1'), electionOf(stores[winner]!).claim('127.0.0.1:1')]);
      await electionOf(stores[winner]!).resign();
      expect(electionOf(stores[winner]!).term).toBeUndefined();
      expect(await lockHolders(schema)).toEqual([]);
      expect(await electionOf(stores[0]!).leader()).toBeUndefined();
      expect(await leadRow(schema)).toBeUndefined();
    }
    expect(wins.reduce((sum, count) => sum + count, 0)).toBe(rounds);
  });

  it('terminating the leader\'s writer session ends its lead: onLost fires, term goes, leader() shows none, then the other leads', async () => {
    const schema = newSchema('relay_kill');
    const [first, second] = await openStores(schema, 2);
    const term = await electionOf(first!).claim('127.0.0.1:7101');
    expect(term).toBeDefined();
    await first!.append(recordsOf('a', 1, 2));
    const lost = new Promise<void>((resolve) => electionOf(first!).onLost(resolve));
    let lostCalls = 0;
    electionOf(first!).onLost(() => (lostCalls += 1));
    const row = await leadRow(schema);
    await admin.query('SELECT pg_terminate_backend($1, 5000)', [row!.pid]);
    await lost;
    expect(lostCalls).toBe(1);
    expect(electionOf(first!).term).toBeUndefined();
    // The row is still there, but no session holds the lock: nobody leads.
    expect(await leadRow(schema)).toBeDefined();
    expect(await electionOf(second!).leader()).toBeUndefined();
    const next = await electionOf(second!).claim('127.0.0.1:7102');
    expect(next).toBeDefined();
    expect(next).not.toBe(term);
    expect(await electionOf(first!).leader()).toEqual({ address: '127.0.0.1:7102', term: next });
    // The old leader appends as any other writer now, on a new session that holds no lead.
    await first!.append(recordsOf('a', 3, 1));
    expect(electionOf(first!).term).toBeUndefined();
    expect(await first!.head()).toBe(3);
    expect(await lockHolders(schema)).toEqual([(await leadRow(schema))!.pid]);
    expect(lostCalls).toBe(1);
  });

  it('an append in flight under the lead when its session is terminated is not written, and the lead is lost', async () => {
    const schema = newSchema('relay_inflight');
    const [first, second] = await openStores(schema, 2);
    await first!.append(recordsOf('a', 1, 1));
    expect(await electionOf(first!).claim('127.0.0.1:7201')).toBeDefined();
    const leader = (await leadRow(schema))!.pid;
    // Another session holds position 2 uncommitted: the leader's insert waits on it.
    const blocker = new pg.Client({ connectionString: pgUrl });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`INSERT INTO "${schema}".records (position, tx_id, record) VALUES (2, 'blocker', '{}')`);
      const lost = new Promise<void>((resolve) => electionOf(first!).onLost(resolve));
      const append = failure(first!.append(recordsOf('a', 2, 2)));
      for (let tries = 0; tries < 500; tries += 1) {
        const waiting = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'`, [leader]);
        if (waiting.rows.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await admin.query('SELECT pg_terminate_backend($1, 5000)', [leader]);
      await lost;
      await blocker.query('ROLLBACK');
      const error = await append;
      expect(error).toBeInstanceOf(LogStoreError);
      expect((error as LogStoreError).outcome).toBe('not-written');
    } finally {
      await blocker.end();
    }
    expect(electionOf(first!).term).toBeUndefined();
    expect(await second!.head()).toBe(1);
    expect(await electionOf(second!).leader()).toBeUndefined();
  });

  it('an append started under the lead that is given up before its statement is sent is refused, not written on without the lock', async () => {
    const schema = newSchema('relay_resign_race');
    // With writer turns the first append of a kind prepares its statement first: one round trip
    // in which the lead can be given up.
    const [first, second] = await openStores(schema, 2, { writerTurns: true });
    expect(await electionOf(first!).claim('127.0.0.1:7301')).toBeDefined();
    const append = failure(first!.append(recordsOf('a', 1, 1)));
    const resigned = electionOf(first!).resign();
    const error = await append;
    await resigned;
    expect(isOrdoError(error, 'LOG_STORE_FAILED'), String(error)).toBe(true);
    expect((error as LogStoreError).outcome).toBe('not-written');
    expect(await second!.head()).toBe(0);
    expect(await electionOf(second!).leader()).toBeUndefined();
    // Not leading any more, the store appends as a plain writer.
    await first!.append(recordsOf('a', 1, 1));
    expect(await second!.head()).toBe(1);
  });

  it('an append queued before the resignation commits under the lead, ahead of the unlock', async () => {
    const schema = newSchema('relay_resign_order');
    const [first, second] = await openStores(schema, 2);
    await first!.append(recordsOf('a', 1, 1));
    expect(await electionOf(first!).claim('127.0.0.1:7401')).toBeDefined();
    const append = first!.append(recordsOf('a', 2, 1));
    await electionOf(first!).resign();
    await append;
    expect(await second!.head()).toBe(2);
    expect(await lockHolders(schema)).toEqual([]);
  });

  it('a failed turn append gives back the writers\' turn only: the lead on the same session stays', async () => {
    const schema = newSchema('relay_turn_abandon');
    const [first, second] = await openStores(schema, 2, { writerTurns: true });
    const term = await electionOf(first!).claim('127.0.0.1:7501');
    expect(term).toBeDefined();
    await first!.append(recordsOf('a', 1, 1));
    await second!.append([{ ...recordsOf('b', 2, 1)[0]!, requestId: 'req-1' }]);
    // first has not seen position 2: its insert at 3 with the same requestId hits the unique
    // index, and the turn is abandoned (ROLLBACK, then the turn's unlock).
    const error = await failure(first!.append([{ ...recordsOf('a', 3, 1)[0]!, requestId: 'req-1' }]));
    expect(error).toBeDefined();
    expect(electionOf(first!).term).toBe(term);
    expect(await electionOf(second!).leader()).toEqual({ address: '127.0.0.1:7501', term });
    expect(await lockHolders(schema)).toEqual([(await leadRow(schema))!.pid]);
    const turns = await admin.query(
      `SELECT count(*)::int AS held FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::int4::oid AND objid = hashtext($2)::oid`,
      [0x4f524454, schema],
    );
    expect(turns.rows[0]).toEqual({ held: 0 });
  });

  it('adds the relay table to a log made without one, and closing the leader ends its lead', async () => {
    const schema = newSchema('relay_table');
    const [first] = await openStores(schema, 1);
    await admin.query(`DROP TABLE "${schema}".relay`);
    const [later] = await openStores(schema, 1);
    expect(await electionOf(later!).claim('127.0.0.1:7601')).toBeDefined();
    expect(await electionOf(first!).leader()).toEqual({ address: '127.0.0.1:7601', term: electionOf(later!).term });
    let lost = 0;
    electionOf(later!).onLost(() => (lost += 1));
    await later!.close();
    expect(lost).toBe(1);
    // The server ends the closed session on its own time; until then the lock is still held.
    await waitUntil(async () => (await electionOf(first!).leader()) === undefined, 'the closed leader\'s session is gone');
  });

  it('leader() shows no lead when the row\'s session does not hold the lock, even if another session does', async () => {
    const schema = newSchema('relay_foreign');
    const [first] = await openStores(schema, 1);
    expect(await electionOf(first!).claim('127.0.0.1:7701')).toBeDefined();
    await electionOf(first!).resign();
    // A row left behind (as by a leader that died), and the lock taken by a session that wrote none.
    const term = 'left-behind';
    await admin.query(`INSERT INTO "${schema}".relay VALUES (1, '127.0.0.1:7702', $1, pg_backend_pid() + 100000, now())`, [term]);
    const other = new pg.Client({ connectionString: pgUrl });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1, hashtext($2))', [leadLockKey, schema]);
      expect(await electionOf(first!).leader()).toBeUndefined();
      // Nor can a store claim it while that session holds the lock.
      expect(await electionOf(first!).claim('127.0.0.1:7703')).toBeUndefined();
    } finally {
      await other.end();
    }
    await waitUntil(async () => (await electionOf(first!).claim('127.0.0.1:7703')) !== undefined, 'the foreign session is gone');
    expect(await electionOf(first!).leader()).toEqual({ address: '127.0.0.1:7703', term: electionOf(first!).term });
  });

  it('a store without the relay option has neither relay nor election', async () => {
    const store = postgresLog({ connectionString: pgUrl, schema: newSchema('relay_none') });
    expect(store.relay).toBeUndefined();
    expect(store.relayElection).toBeUndefined();
    const withRelay = postgresLog({ connectionString: pgUrl, schema: newSchema('relay_some'), relay: {} });
    expect(withRelay.relay).toBeDefined();
    await store.close();
    await withRelay.close();
  });
});
