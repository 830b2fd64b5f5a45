import type { PostgresPool, PostgresPoolClient } from './postgres-pool.js';

/** The connection appends go through, with the server process id that serves it. */
export interface Writer {
  readonly client: PostgresPoolClient;
  /** pg_backend_pid() of the session: needed to make sure a lost session can no longer commit. */
  readonly backendPid: number;
  /** When that session started: a pid alone may be reused by a later, unrelated session. */
  readonly backendStart: string;
  /** Server-side prepared statements made on this session (append-turn.ts). */
  readonly prepared: Set<string>;
  /** Whether this session holds the writers' turn lock (append-turn.ts). */
  turnHeld: boolean;
}

/**
 * Holds one pooled connection for appends. The owner appends one batch at a time, so one
 * connection is enough; keeping it (instead of taking any pooled one per append) lets the
 * append statement stay prepared on it, and tells us which server session ran an append whose
 * connection broke.
 */
export class WriterConnection {
  private writer: Writer | undefined;
  private lostError: Error | undefined;

  constructor(
    private readonly pool: PostgresPool,
    /** statement_timeout of the append session: bounds how long an append may wait on locks. */
    private readonly appendTimeoutMs: number,
  ) {}

  /** The connection, when one is open and healthy: the common case needs no await. */
  ready(): Writer | undefined {
    return this.lostError === undefined ? this.writer : undefined;
  }

  async acquire(): Promise<Writer> {
    // A connection that broke while idle has sent nothing of the next batch: replace it first.
    if (this.writer !== undefined && this.lostError !== undefined) this.discard(this.lostError);
    if (this.writer !== undefined) return this.writer;
    const client = await this.pool.connect();
    try {
      // An error event on a connection that is checked out must be handled here, or Node throws
      // it. The query in flight fails on its own; the next append takes a new connection.
      client.on('error', (error) => {
        if (this.writer?.client === client) this.lostError = error;
      });
      // One round trip learns the session and bounds every later append on it. A statement
      // that times out is rolled back (nothing written) and reported as a failed append.
      const result = await client.query({
        text: `SELECT pid, backend_start::text AS started, set_config('statement_timeout', $1, false)
               FROM pg_stat_activity WHERE pid = pg_backend_pid()`,
        values: [`${this.appendTimeoutMs}ms`],
      });
      const row = result.rows[0] as { pid: number; started: string } | undefined;
      if (typeof row?.pid !== 'number' || typeof row.started !== 'string') throw new Error('the session does not show in pg_stat_activity');
      this.writer = { client, backendPid: row.pid, backendStart: row.started, prepared: new Set(), turnHeld: false };
      this.lostError = undefined;
      return this.writer;
    } catch (error) {
      client.release(error instanceof Error ? error : true);
      throw error;
    }
  }

  /** Destroys the connection after it failed; the next `acquire` opens another. */
  discard(error: unknown): void {
    const writer = this.writer;
    this.writer = undefined;
    writer?.client.release(error instanceof Error ? error : (this.lostError ?? true));
    this.lostError = undefined;
  }

  /**
   * Closes the connection (on close). It is not handed back: its session carries our
   * statement_timeout (and may hold the writers' turn), which must not leak into whatever a caller's pool runs on it next.
   */
  release(): void {
    const writer = this.writer;
    this.writer = undefined;
    writer?.client.release(true);
  }
}
