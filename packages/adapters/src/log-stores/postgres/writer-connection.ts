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
  /** The connection being opened: appends and the relay election share one, never two. */
  private acquiring: Promise<Writer> | undefined;
  /** Told, synchronously, of every session given up or found broken (relay-election.ts). */
  private readonly endListeners = new Set<(writer: Writer) => void>();

  constructor(
    private readonly pool: PostgresPool,
    /** statement_timeout of the append session: bounds how long an append may wait on locks. */
    private readonly appendTimeoutMs: number,
  ) {}

  /** The connection, when one is open and healthy: the common case needs no await. */
  ready(): Writer | undefined {
    return this.lostError === undefined ? this.writer : undefined;
  }

  /**
   * Calls `listener` with the session each time one ends for this log store: found broken (an
   * error or end event), discarded or released. It runs before `acquire` can hand out the
   * next session, so whatever was bound to the old session (the relay lead) is known to be
   * gone before any statement runs on the new one. Returns the unsubscribe function.
   */
  onSessionEnd(listener: (writer: Writer) => void): () => void {
    this.endListeners.add(listener);
    return () => {
      this.endListeners.delete(listener);
    };
  }

  async acquire(): Promise<Writer> {
    // A connection that broke while idle has sent nothing of the next batch: replace it first.
    if (this.writer !== undefined && this.lostError !== undefined) this.discard(this.lostError);
    if (this.writer !== undefined) return this.writer;
    this.acquiring ??= this.connect().finally(() => {
      this.acquiring = undefined;
    });
    return this.acquiring;
  }

  private async connect(): Promise<Writer> {
    const client = await this.pool.connect();
    try {
      // An error event on a connection that is checked out must be handled here, or Node throws
      // it. The query in flight fails on its own; the next append takes a new connection.
      client.on('error', (error) => {
        if (this.writer?.client !== client) return;
        this.lostError ??= error;
        this.ended(this.writer);
      });
      client.on('end', () => {
        if (this.writer?.client !== client) return;
        this.lostError ??= new Error('the append session ended');
        this.ended(this.writer);
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

  /**
   * Destroys the connection after it failed; the next `acquire` opens another. With `only`,
   * only if that is still the connection held (a failure on a session already replaced must
   * not end its successor).
   */
  discard(error: unknown, only?: Writer): void {
    const writer = this.writer;
    if (writer === undefined || (only !== undefined && writer !== only)) return;
    this.writer = undefined;
    const lostError = this.lostError;
    this.lostError = undefined;
    this.ended(writer);
    writer.client.release(error instanceof Error ? error : (lostError ?? true));
  }

  /**
   * Closes the connection (on close). It is not handed back: its session carries our
   * statement_timeout (and may hold the writers' turn or the relay lead), which must not leak
   * into whatever a caller's pool runs on it next.
   */
  release(): void {
    const writer = this.writer;
    this.writer = undefined;
    if (writer === undefined) return;
    this.ended(writer);
    writer.client.release(true);
  }

  private ended(writer: Writer): void {
    for (const listener of this.endListeners) listener(writer);
  }
}
