import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isOrdoError, openStore, type LogRecord } from '@ordo/core';
import { postgresLog } from '@ordo/adapters/postgres';
import { records } from '../conformance/log-store-conformance.js';
import { Counter } from './counter-model.js';
import { describePostgres, dropSchemas, pgUrl, uniqueSchema } from './pg-test-env.js';
import { TcpProxy } from './tcp-proxy.js';

const schemas: string[] = [];
const admin = new pg.Client({ connectionString: pgUrl });

/** A proxy in front of the server ORDO_PG_URL names. */
function startProxy(): Promise<TcpProxy> {
  const server = new URL(pgUrl);
  return TcpProxy.start(server.hostname || '127.0.0.1', Number(server.port || 5432));
}

function viaProxy(proxy: TcpProxy): string {
  const url = new URL(pgUrl);
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  return url.toString();
}

async function waitUntil(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let tries = 0; tries < 500; tries += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting until ${what}`);
}

// The log store's append statements, as pg_stat_activity shows them.
const appendQueryText = `(query LIKE 'INSERT INTO%' OR query LIKE 'WITH inserted%')`;

/** Backends of `application` that wait on a lock while appending. */
async function waitingAppends(application: string): Promise<number[]> {
  const result = await admin.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock' AND ${appendQueryText}`,
    [application],
  );
  return result.rows.map((row) => row.pid);
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describePostgres('postgres log: a connection lost during an append', () => {
  beforeAll(() => admin.connect());
  afterAll(async () => {
    await admin.end();
    await dropSchemas(schemas);
  });

  it('resolves when the batch committed but the answer was lost, and appends again', async () => {
    const proxy = await startProxy();
    const schema = uniqueSchema('lost_answer');
    schemas.push(schema);
    const log = postgresLog({ connectionString: viaProxy(proxy), schema });
    await log.open();
    await log.append(records(1, 2));
    proxy.loseNextAnswer();
    await log.append(records(3, 3));
    expect(await log.read(1, 10)).toEqual(records(1, 5));
    await log.append(records(6, 1));
    expect(await log.head()).toBe(6);
    await log.close();
    await proxy.close();
  });

  it('rejects with LogStoreError when the batch cannot have committed, writes nothing, and appends again', async () => {
    const proxy = await startProxy();
    const schema = uniqueSchema('lost_waiting');
    schemas.push(schema);
    const application = `ordo_${schema}`.slice(0, 60);
    const url = new URL(viaProxy(proxy));
    url.searchParams.set('application_name', application);
    const log = postgresLog({ connectionString: url.toString(), schema });
    await log.open();
    await log.append(records(1, 2));
    // Hold the table so the append waits inside its statement, then break its connection.
    await admin.query('BEGIN');
    await admin.query(`LOCK TABLE "${schema}".records IN SHARE ROW EXCLUSIVE MODE`);
    const pending = failure(log.append(records(3, 3)));
    await waitUntil(async () => (await waitingAppends(application)).length === 1, 'the append waits on the lock');
    proxy.cutAll();
    const error = await pending;
    await admin.query('COMMIT');
    expect(isOrdoError(error, 'LOG_STORE_FAILED'), String(error)).toBe(true);
    expect(String(error)).toMatch(/not written/);
    expect(error).toMatchObject({ code: 'LOG_STORE_FAILED', outcome: 'not-written' });
    expect(await log.read(1, 10)).toEqual(records(1, 2));
    await log.append(records(3, 1));
    expect(await log.head()).toBe(3);
    await log.close();
    await proxy.close();
  });

  it('ends each commit hit by pg_terminate_backend committed or with a typed error, never half applied; the store keeps working', async () => {
    const schema = uniqueSchema('terminate');
    schemas.push(schema);
    const application = `ordo_${schema}`.slice(0, 60);
    const pool = new pg.Pool({ connectionString: pgUrl, application_name: application, max: 4 });
    pool.on('error', () => undefined);
    const store = await openStore({ entities: [Counter], log: postgresLog({ pool, schema }) });
    await store.transact((tx) => tx.create(Counter, { value: 0 }, { id: 'c' }));

    // Deterministic: the commit waits on a lock when its session is terminated.
    await admin.query('BEGIN');
    await admin.query(`LOCK TABLE "${schema}".records IN SHARE ROW EXCLUSIVE MODE`);
    const blocked = failure(store.transact((tx) => tx.create(Counter, { value: 1 }, { id: 'blocked' })));
    await waitUntil(async () => (await waitingAppends(application)).length === 1, 'the commit waits on the lock');
    await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [await waitingAppends(application)]);
    await admin.query('COMMIT');
    expect(isOrdoError(await blocked, 'LOG_STORE_FAILED'), String(await blocked)).toBe(true);
    await store.sync();
    expect(store.get(Counter, 'blocked')).toBeUndefined();

    // Racing: commits in flight while their sessions are terminated at arbitrary moments.
    const burst = { stopped: false };
    const [outcomes, terminated] = await Promise.all([
      commitBurst(store, burst),
      terminateAppends(application).finally(() => (burst.stopped = true)),
    ]);
    await store.sync();
    expect(terminated, 'sessions terminated during an append').toBeGreaterThan(0);
    expect(outcomes.filter((outcome) => outcome.committed).length).toBeGreaterThan(0);
    for (const outcome of outcomes) {
      if (!outcome.committed) expect(isOrdoError(outcome.error, 'LOG_STORE_FAILED'), String(outcome.error)).toBe(true);
      // A committed record is in the state whole; a rejected one is nowhere.
      expect(store.get(Counter, outcome.id)?.data.value).toBe(outcome.committed ? outcome.index : undefined);
    }

    // Still working, and a store that replays the log from scratch agrees with the live one.
    const last = await store.transact((tx) => tx.update(Counter, 'c', (draft) => void (draft.value += 1)));
    const fresh = await openStore({ entities: [Counter], log: postgresLog({ connectionString: pgUrl, schema }) });
    expect(fresh.position).toBe(last.position);
    expect(fresh.dump()).toEqual(store.dump());
    const log = await fresh.read({ from: 1 });
    expect(log.map((record: LogRecord) => record.position)).toEqual(log.map((_, index) => index + 1));
    await fresh.close();
    await store.close();
    await pool.end();
  });
});

interface CommitOutcome {
  readonly id: string;
  readonly index: number;
  readonly committed: boolean;
  readonly error?: unknown;
}

const burstCommitsMax = 20_000;
const burstCallers = 16;
const terminationsWanted = 4;
const terminationTriesMax = 400;

async function commitBurst(store: Awaited<ReturnType<typeof openStore>>, burst: { stopped: boolean }): Promise<CommitOutcome[]> {
  const outcomes: CommitOutcome[] = [];
  let next = 0;
  const caller = async (): Promise<void> => {
    while (!burst.stopped && next < burstCommitsMax) {
      const index = (next += 1);
      const id = `burst-${index}`;
      try {
        await store.transact((tx) => tx.create(Counter, { value: index }, { id }));
        outcomes.push({ id, index, committed: true });
      } catch (error) {
        outcomes.push({ id, index, committed: false, error });
      }
    }
  };
  await Promise.all(Array.from({ length: burstCallers }, () => caller()));
  return outcomes;
}

/** Terminates the store's session while it runs an append, a few times; returns how often. */
async function terminateAppends(application: string): Promise<number> {
  let terminated = 0;
  for (let tries = 0; tries < terminationTriesMax && terminated < terminationsWanted; tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 3));
    const result = await admin.query<{ pid: number }>(
      `SELECT pid FROM (SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND ${appendQueryText}
       AND pid <> pg_backend_pid() OFFSET 0) AS appending WHERE pg_terminate_backend(pid)`,
      [application],
    );
    terminated += result.rows.length;
  }
  return terminated;
}
