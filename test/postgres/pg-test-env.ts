import pg from 'pg';
import { describe, it } from 'vitest';

/**
 * The one place that decides whether PostgreSQL tests run. The server is found through
 * ORDO_PG_URL. When it does not answer, the tests are skipped with a loud message, unless
 * ORDO_PG_REQUIRED=1 (CI), where an unreachable server fails the run instead.
 */
export const pgUrl = process.env.ORDO_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const required = process.env.ORDO_PG_REQUIRED === '1';
const probeTimeoutMs = 3_000;

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: probeTimeoutMs });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const unreachable = await probe();

/** `describe` for suites that need the server: runs, skips loudly, or fails (when required). */
export function describePostgres(name: string, body: () => void): void {
  if (unreachable === undefined) {
    describe(name, body);
    return;
  }
  const message = `PostgreSQL at ORDO_PG_URL=${pgUrl} does not answer (${unreachable})`;
  if (required) {
    describe(name, () => {
      it('needs PostgreSQL (ORDO_PG_REQUIRED=1)', () => {
        throw new Error(`${message}; ORDO_PG_REQUIRED=1 makes this a failure`);
      });
    });
    return;
  }
  process.stderr.write(`\n!!! SKIPPING ${name}: ${message}. Set ORDO_PG_URL to run these tests. !!!\n\n`);
  describe.skip(name, body);
}

let schemaCounter = 0;

/** A schema name no other test file or run uses. */
export function uniqueSchema(prefix: string): string {
  schemaCounter += 1;
  const random = Math.random().toString(36).slice(2, 8);
  return `t_${prefix}_${process.pid}_${random}_${schemaCounter}`.toLowerCase();
}

/** Drops schemas (and the logs in them) made by a test file. */
export async function dropSchemas(schemas: readonly string[]): Promise<void> {
  if (schemas.length === 0) return;
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
