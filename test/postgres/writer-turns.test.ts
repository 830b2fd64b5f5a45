import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isOrdoError, type LogRecord, type LogStore } from '@ordo/core';
import { postgresLog } from '@ordo/adapters/postgres';
import { records } from '../conformance/log-store-conformance.js';
import { describePostgres, dropSchemas, pgUrl, uniqueSchema } from './pg-test-env.js';
import { TcpProxy } from './tcp-proxy.js';

// writerTurns: writers take turns on an advisory lock (append-turn.ts). These tests drive two
// log stores on one schema, each with its own pool and so its own server sessions, as two
// processes would have; the multi-process suite runs the same option in real child processes.
const schemas: string[] = [];
const admin = new pg.Client({ connectionString: pgUrl });

/** Records of writer `writer`, so that two writers' records at one position can be told apart. */
function recordsOf(writer: string, from: number, count: number): LogRecord[] {
  return records(from, count).map((record) => ({ ...record, txId: `${writer}-${record.position}` }));
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

async function turnLocksHeld(schema: string): Promise<number> {
  const result = await admin.query<{ held: string }>(
    `SELECT count(*)::text AS held FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1::bigint::oid AND objid = hashtext($2)::oid`,
    [0x4f524454, schema],
  );
  return Number(result.rows[0]?.held);
}

async function openPair(schema: string, url = pgUrl): Promise<{ first: LogStore; second: LogStore }> {
  const first = postgresLog({ connectionString: pgUrl, schema, writerTurns: true });
  await first.open();
  const second = postgresLog({ connectionString: url, schema, writerTurns: true });
  await second.open();
  return { first, second };
}

function newSchema(name: string): string {
  const schema = uniqueSchema(name);
  schemas.push(schema);
  return schema;
}

describePostgres('postgres log: writers taking turns (writerTurns)', () => {
  beforeAll(() => admin.connect());
  afterAll(async () => {
    await admin.end();
    await dropSchemas(schemas);
  });

  it('a writer that lost the race keeps its turn: the other waits, the loser reads what it missed and goes next', async () => {
    const schema = newSchema('turns_keep');
    const { first, second } = await openPair(schema);
    await first.append(recordsOf('a', 1, 2));
    const lost = await failure(second.append(recordsOf('b', 1, 1)));
    expect(isOrdoError(lost, 'LOG_HEAD_MOVED'), String(lost)).toBe(true);
    expect(await turnLocksHeld(schema)).toBe(1);

    // The first writer now waits for the turn the loser holds, instead of taking position 3.
    const waiting = failure(first.append(recordsOf('a', 3, 1)));
    expect(await second.read(1, 10)).toEqual(recordsOf('a', 1, 2));
    expect(await second.head()).toBe(2);
    await second.append(recordsOf('b', 3, 1));
    const moved = await waiting;
    expect(isOrdoError(moved, 'LOG_HEAD_MOVED'), String(moved)).toBe(true);
    expect((await first.read(3, 1)).map((record) => record.txId)).toEqual(['b-3']);

    // The first writer in turn lost, kept its turn, and goes next.
    await first.append(recordsOf('a', 4, 1));
    expect((await second.read(1, 10)).map((record) => record.txId)).toEqual(['a-1', 'a-2', 'b-3', 'a-4']);
    await first.close();
    await second.close();
  });

  it('a kept turn goes back when no append follows it', async () => {
    const schema = newSchema('turns_back');
    const { first, second } = await openPair(schema);
    await first.append(recordsOf('a', 1, 1));
    expect(isOrdoError(await failure(second.append(recordsOf('b', 1, 1))), 'LOG_HEAD_MOVED')).toBe(true);
    // The loser never appends again; the other writer gets the turn once it is given back.
    await first.append(recordsOf('a', 2, 1));
    expect(await turnLocksHeld(schema)).toBe(0);
    expect((await second.read(1, 10)).map((record) => record.txId)).toEqual(['a-1', 'a-2']);
    await second.append(recordsOf('b', 3, 1));
    await first.close();
    await second.close();
  });

  it('a turn holder whose connection dies frees the turn; it appends again on a new connection', async () => {
    const schema = newSchema('turns_lost');
    const server = new URL(pgUrl);
    const proxy = await TcpProxy.start(server.hostname || '127.0.0.1', Number(server.port || 5432));
    const viaProxy = new URL(pgUrl);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const { first, second } = await openPair(schema, viaProxy.toString());
    await first.append(recordsOf('a', 1, 1));
    expect(isOrdoError(await failure(second.append(recordsOf('b', 1, 1))), 'LOG_HEAD_MOVED')).toBe(true);
    const waiting = first.append(recordsOf('a', 2, 1));
    // The holder's connection breaks while it holds the turn: its session ends, the turn with it.
    proxy.cutAll();
    await waiting;
    // The holder's next append (still built on head 1) fails with a typed error, writes
    // nothing, and the one after it, on a fresh connection, goes in.
    const error = await failure(second.append(recordsOf('b', 2, 1)));
    expect(isOrdoError(error, 'LOG_HEAD_MOVED') || isOrdoError(error, 'LOG_STORE_FAILED'), String(error)).toBe(true);
    expect(await second.head()).toBe(2);
    expect((await second.read(1, 10)).map((record) => record.txId)).toEqual(['a-1', 'a-2']);
    await second.append(recordsOf('b', 3, 1));
    expect((await first.read(3, 1)).map((record) => record.txId)).toEqual(['b-3']);
    await first.close();
    await second.close();
    await proxy.close();
  });

  it('refuses a writerTurns that is not a boolean', () => {
    expect(() => postgresLog({ connectionString: pgUrl, writerTurns: 'yes' as unknown as boolean })).toThrow(/writerTurns/);
  });
});
