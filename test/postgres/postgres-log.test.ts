import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { isOrdoError, openStore } from '@ordo/core';
import { postgresLog } from '@ordo/adapters/postgres';
import { record, records } from '../conformance/log-store-conformance.js';
import { Counter } from './counter-model.js';
import { describePostgres, dropSchemas, pgUrl, uniqueSchema } from './pg-test-env.js';

const schemas: string[] = [];

function newSchema(prefix: string): string {
  const schema = uniqueSchema(prefix);
  schemas.push(schema);
  return schema;
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

async function withAdmin<T>(run: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  try {
    return await run(admin);
  } finally {
    await admin.end();
  }
}

describePostgres('postgres log store: shared by many writers', () => {
  afterAll(() => dropSchemas(schemas));

  it('refuses a schema name that is not a plain identifier', () => {
    for (const schema of ['Upper', 'a-b', 'x"; DROP TABLE y; --', '', 'a'.repeat(49)]) {
      let caught: unknown;
      try {
        postgresLog({ connectionString: pgUrl, schema });
      } catch (error) {
        caught = error;
      }
      expect(isOrdoError(caught, 'INVALID_ARGUMENT'), schema).toBe(true);
    }
  });

  it('creates its tables once when many processes open a new log at the same moment', async () => {
    const schema = newSchema('first_open');
    const logs = Array.from({ length: 8 }, () => postgresLog({ connectionString: pgUrl, schema }));
    const opened = await Promise.all(logs.map((log) => log.open()));
    expect(opened.map((result) => result.head)).toEqual(logs.map(() => 0));
    const version = await withAdmin((admin) => admin.query(`SELECT value FROM "${schema}".meta WHERE key = 'schema_version'`));
    expect(version.rows).toEqual([{ value: '1' }]);
    await Promise.all(logs.map((log) => log.close()));
  });

  it('refuses to read past a hole made in the table by hand', async () => {
    const schema = newSchema('hole');
    const log = postgresLog({ connectionString: pgUrl, schema });
    await log.open();
    await log.append(records(1, 4));
    await withAdmin((admin) => admin.query(`DELETE FROM "${schema}".records WHERE position = 2`));
    const error = await errorOf(log.read(1, 10));
    expect(isOrdoError(error, 'LOG_CORRUPT'), String(error)).toBe(true);
    await log.close();
  });

  it('refuses to open tables of a newer layout version', async () => {
    const schema = newSchema('newer');
    const first = postgresLog({ connectionString: pgUrl, schema });
    await first.open();
    await first.close();
    await withAdmin((admin) => admin.query(`UPDATE "${schema}".meta SET value = '99' WHERE key = 'schema_version'`));
    const later = postgresLog({ connectionString: pgUrl, schema });
    const error = await errorOf(later.open());
    expect(isOrdoError(error, 'LOG_STORE_FAILED'), String(error)).toBe(true);
    expect(String(error)).toMatch(/version 99/);
    await later.close();
  });

  it('refuses appends beyond the head, whatever this instance read or wrote before', async () => {
    const log = postgresLog({ connectionString: pgUrl, schema: newSchema('beyond') });
    await log.open();
    expect(await log.read(50, 5)).toEqual([]);
    const empty = (await errorOf(log.append([record(51)]))) as { code?: string; actual?: number };
    expect([empty.code, empty.actual]).toEqual(['LOG_HEAD_MOVED', 0]);
    await log.append(records(1, 3));
    const ahead = (await errorOf(log.append([record(5), record(6)]))) as { code?: string; actual?: number };
    expect([ahead.code, ahead.actual]).toEqual(['LOG_HEAD_MOVED', 3]);
    const taken = (await errorOf(log.append([record(2)]))) as { code?: string; actual?: number; records?: unknown };
    expect([taken.code, taken.actual]).toEqual(['LOG_HEAD_MOVED', 3]);
    // The loser gets the records it lacks with the error, read in the same round trip.
    expect(taken.records).toEqual(records(1, 3).slice(1));
    expect((empty as { records?: unknown }).records).toBeUndefined();
    expect(await log.read(1, 10)).toEqual(records(1, 3));
    await log.close();
  });

  it('lets exactly one of two writers racing for the same positions win; the other learns the head', async () => {
    const schema = newSchema('race');
    const [a, b] = [postgresLog({ connectionString: pgUrl, schema }), postgresLog({ connectionString: pgUrl, schema })];
    await Promise.all([a.open(), b.open()]);
    for (let round = 0; round < 20; round += 1) {
      const start = round * 3 + 1;
      const batchA = records(start, 3).map((entry) => ({ ...entry, txId: `a-${entry.position}` }));
      const batchB = records(start, 3).map((entry) => ({ ...entry, txId: `b-${entry.position}` }));
      const [errorA, errorB] = await Promise.all([errorOf(a.append(batchA)), errorOf(b.append(batchB))]);
      expect([errorA, errorB].filter((error) => error === undefined)).toHaveLength(1);
      const loser = (errorA ?? errorB) as { code?: string; actual?: number };
      expect(loser.code).toBe('LOG_HEAD_MOVED');
      expect(loser.actual).toBe(start + 2);
      const stored = await a.read(start, 3);
      expect(stored).toEqual(errorA === undefined ? batchA : batchB);
    }
    expect(await b.head()).toBe(60);
    await Promise.all([a.close(), b.close()]);
  });

  it('rejects a request that another writer already logged as a moved head, and a repeat after reading as a bug', async () => {
    const schema = newSchema('request');
    const [a, b] = [postgresLog({ connectionString: pgUrl, schema }), postgresLog({ connectionString: pgUrl, schema })];
    await Promise.all([a.open(), b.open()]);
    await a.append([record(1, { requestId: 'r-1' })]);
    // b has not read record 1 and appends the same request at what it believes is the head.
    const error = (await errorOf(b.append([record(1, { requestId: 'r-1', txId: 'b-1' })]))) as { code?: string; actual?: number };
    expect(error.code).toBe('LOG_HEAD_MOVED');
    expect(error.actual).toBe(1);
    expect(await b.read(1, 5)).toEqual([record(1, { requestId: 'r-1' })]);
    // Repeating a requestId the caller has already read is a bug in the caller.
    const own = await errorOf(b.append([record(2, { requestId: 'r-1' })]));
    expect(isOrdoError(own, 'INTERNAL'), String(own)).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });

  it('stores strings that jsonb would refuse or change, exactly', async () => {
    const log = postgresLog({ connectionString: pgUrl, schema: newSchema('strings') });
    await log.open();
    const odd = record(1, { meta: { nul: 'a\u0000b', lone: '\ud800x', quote: '"\\\'', big: 2 ** 53 - 1, tiny: 5e-324 } });
    await log.append([odd]);
    expect(await log.read(1, 1)).toEqual([odd]);
    // A batch of several records travels as lines of one text: line breaks in data must survive.
    const lines = [record(2, { meta: { text: 'one\ntwo\r\nthree\u2028four' } }), record(3, { meta: { nul: '\u0000\n' } })];
    await log.append(lines);
    expect(await log.read(1, 3)).toEqual([odd, ...lines]);
    await log.close();
  });

  it('fails an append that waits longer than appendTimeoutMs, writes nothing, and appends again', async () => {
    const schema = newSchema('timeout');
    const log = postgresLog({ connectionString: pgUrl, schema, appendTimeoutMs: 200 });
    await log.open();
    await log.append([record(1)]);
    const error = await withAdmin(async (admin) => {
      await admin.query('BEGIN');
      await admin.query(`LOCK TABLE "${schema}".records IN SHARE ROW EXCLUSIVE MODE`);
      const failed = await errorOf(log.append([record(2)]));
      await admin.query('COMMIT');
      return failed;
    });
    expect(isOrdoError(error, 'LOG_STORE_FAILED'), String(error)).toBe(true);
    expect(await log.read(1, 5)).toEqual([record(1)]);
    await log.append([record(2)]);
    expect(await log.head()).toBe(2);
    await log.close();
  });

  it('keeps the newest snapshots only, refuses one beyond the head, and opens a store from one', async () => {
    const schema = newSchema('snapshots');
    const store = await openStore({ entities: [Counter], log: postgresLog({ connectionString: pgUrl, schema }) });
    for (let round = 1; round <= 4; round += 1) {
      await store.transact((tx) => tx.create(Counter, { value: round }, { id: `c${round}` }));
      expect(await store.snapshot()).toBe(round);
    }
    const kept = await withAdmin((admin) => admin.query(`SELECT position::int AS position FROM "${schema}".snapshots ORDER BY 1`));
    expect(kept.rows).toEqual([{ position: 3 }, { position: 4 }]);
    await store.close();
    const log = postgresLog({ connectionString: pgUrl, schema });
    expect((await log.open()).snapshot?.position).toBe(4);
    const beyond = await errorOf(log.writeSnapshot!({ format: 1, position: 9, entities: [], requests: [] }));
    expect(isOrdoError(beyond, 'INTERNAL'), String(beyond)).toBe(true);
    await log.close();
    const reopened = await openStore({ entities: [Counter], log: postgresLog({ connectionString: pgUrl, schema }) });
    expect(reopened.list(Counter).map((counter) => counter.data.value)).toEqual([1, 2, 3, 4]);
    await reopened.close();
  });

  it('keeps requestIds idempotent across stores on the same log (I7)', async () => {
    const schema = newSchema('idempotent');
    const [a, b] = await Promise.all([
      openStore({ entities: [Counter], log: postgresLog({ connectionString: pgUrl, schema }) }),
      openStore({ entities: [Counter], log: postgresLog({ connectionString: pgUrl, schema }) }),
    ]);
    const first = await a.transact((tx) => tx.create(Counter, { value: 1 }).id, { requestId: 'create-once' });
    // b has not folded a's record: its commit meets the unique request_id, catches up, replays.
    const second = await b.transact((tx) => tx.create(Counter, { value: 2 }).id, { requestId: 'create-once' });
    expect(second.replayed).toBe(true);
    expect(second.value).toBe(first.value);
    expect(second.position).toBe(first.position);
    expect(b.list(Counter).map((counter) => counter.id)).toEqual([first.value]);
    expect(await b.read({ from: 1 })).toHaveLength(1);
    await Promise.all([a.close(), b.close()]);
  });

  it('wakes subscribers in other processes, and makes up for notifications lost with their connection', async () => {
    const schema = newSchema('notify');
    const application = `ordo_${schema}`.slice(0, 60);
    const url = new URL(pgUrl);
    url.searchParams.set('application_name', application);
    const watcher = postgresLog({ connectionString: url.toString(), schema, headPollMs: 60_000 });
    const writer = postgresLog({ connectionString: pgUrl, schema });
    await Promise.all([watcher.open(), writer.open()]);
    const heads: number[] = [];
    const unsubscribe = watcher.subscribe((head) => heads.push(head));
    await until(async () => (await listeners(application)).length === 1);
    await writer.append(records(1, 2));
    await until(async () => heads.includes(2));

    // The LISTEN session dies; what is appended before it is back sends it nothing, yet the
    // subscriber hears of the new head once the watcher has reconnected (without the poll).
    await withAdmin(async (admin) => {
      await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [await listeners(application)]);
    });
    await writer.append(records(3, 2));
    await until(async () => heads.includes(4));
    unsubscribe();
    await until(async () => (await listeners(application)).length === 0);
    await Promise.all([watcher.close(), writer.close()]);
  });

  it('coalesces notifications of rapid appends, and still announces the last head', async () => {
    const schema = newSchema('coalesce');
    const watcher = postgresLog({ connectionString: pgUrl, schema, headPollMs: 60_000 });
    const writer = postgresLog({ connectionString: pgUrl, schema, notifyCoalesceMs: 100 });
    await Promise.all([watcher.open(), writer.open()]);
    const heads: number[] = [];
    watcher.subscribe((head) => heads.push(head));
    await until(async () => heads.length > 0); // the watcher reads the head once it listens
    const started = performance.now();
    for (let position = 1; position <= 30; position += 1) await writer.append([record(position)]);
    const elapsedMs = performance.now() - started;
    await until(async () => heads.includes(30));
    // At most one notification per 100 ms window, plus the trailing one and the initial read.
    expect(heads.length).toBeLessThanOrEqual(Math.ceil(elapsedMs / 100) + 3);
    // Closing announces what the window still held back.
    await writer.append([record(31)]);
    await writer.append([record(32)]);
    await writer.close();
    await until(async () => heads.includes(32));
    await watcher.close();
  });

  it('lets a store watch every record another store commits, once and in order, across a lost LISTEN session', async () => {
    const schema = newSchema('watch');
    const application = `ordo_${schema}`.slice(0, 60);
    const url = new URL(pgUrl);
    url.searchParams.set('application_name', application);
    const watching = await openStore({ entities: [Counter], log: postgresLog({ connectionString: url.toString(), schema, headPollMs: 60_000 }) });
    const writing = await openStore({ entities: [Counter], log: postgresLog({ connectionString: pgUrl, schema }) });
    const commits = 200;
    const seen: number[] = [];
    const watch = (async () => {
      for await (const entry of watching.watch({ from: 1 })) {
        seen.push(entry.position);
        if (seen.length === commits) break;
      }
    })();
    await until(async () => (await listeners(application)).length === 1);
    const burst = async (count: number): Promise<void> => {
      await Promise.all(Array.from({ length: count }, (_, index) => writing.transact((tx) => tx.create(Counter, { value: index }))));
    };
    await burst(commits / 2);
    // The watcher's LISTEN session dies mid-stream; it must still get the rest, without a gap.
    await withAdmin(async (admin) => admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [await listeners(application)]));
    await burst(commits / 2);
    const late = new Promise((_, reject) => setTimeout(() => reject(new Error(`watch stalled after ${seen.length}`)), 10_000).unref());
    await Promise.race([watch, late]);
    expect(seen).toEqual(Array.from({ length: commits }, (_, index) => index + 1));
    expect(watching.list(Counter)).toHaveLength(commits);
    await Promise.all([watching.close(), writing.close()]);
  });

  it('wakes subscribers through the slow head poll when no notification arrives', async () => {
    const schema = newSchema('poll');
    const watcher = postgresLog({ connectionString: pgUrl, schema, headPollMs: 50 });
    const writer = postgresLog({ connectionString: pgUrl, schema });
    await Promise.all([watcher.open(), writer.open()]);
    const heads: number[] = [];
    const unsubscribe = watcher.subscribe((head) => heads.push(head));
    // Rows written by hand send no notification: only the poll can find them.
    await until(async () => heads.length > 0);
    await withAdmin((admin) =>
      admin.query(`INSERT INTO "${schema}".records (position, tx_id, record) VALUES (1, 'tx-1', $1::json)`, [JSON.stringify(record(1))]),
    );
    await until(async () => heads.includes(1));
    unsubscribe();
    await Promise.all([watcher.close(), writer.close()]);
  });
});

async function listeners(application: string): Promise<number[]> {
  return withAdmin(async (admin) => {
    const result = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%' AND state = 'idle'`,
      [application],
    );
    return result.rows.map((row) => row.pid);
  });
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; tries < 300; tries += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('condition not met in time');
}
