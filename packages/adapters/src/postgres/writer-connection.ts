import type { PostgresPool, PostgresPoolClient } from './postgres-pool.js';

/** The connection appends go through, with the server process id that serves it. */
export interface Writer {
  readonly client: PostgresPoolClient;
  /** pg_backend_pid() of the session: needed to make sure a lost session can no longer commit. */
  readonly backendPid: number;
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
        text: `SELECT pg_backend_pid() AS pid, set_config('statement_timeout', $1, false)`,
        values: [`${this.appendTimeoutMs}ms`],
      });
      const pid = (result.rows[0] as { pid: number } | undefined)?.pid;
      if (typeof pid !== 'number') throw new Error('pg_backend_pid() returned no number');
      this.writer = { client, backendPid: pid };
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
   * statement_timeout, which must not leak into whatever a caller's pool runs on it next.
   */
  release(): void {
    const writer = this.writer;
    this.writer = undefined;
    writer?.client.release(true);
  }
}
