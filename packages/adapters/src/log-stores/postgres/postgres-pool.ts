/**
 * The subset of `pg` (node-postgres) that the PostgreSQL log store uses. A `pg.Pool` satisfies
 * it as it is; so can any driver that speaks the same shapes. Declaring it here keeps `pg` a
 * peer dependency: Ordo never needs its types at run time.
 */

export interface PostgresQuery {
  /** Text of one SQL statement with `$1`, `$2`... placeholders. */
  readonly text: string;
  readonly values?: unknown[];
  /** Naming a statement makes the driver prepare it once per connection. */
  readonly name?: string;
}

export interface PostgresQueryResult {
  readonly rows: unknown[];
  readonly rowCount: number | null;
}

/** One NOTIFY delivered to a connection that LISTENs. */
export interface PostgresNotification {
  readonly channel: string;
  readonly payload?: string | undefined;
}

/** A connection taken from the pool. */
export interface PostgresPoolClient {
  query(query: PostgresQuery): Promise<PostgresQueryResult>;
  /** Returns the connection to the pool; `true` or an error destroys it instead. */
  release(destroy?: boolean | Error): void;
  on(event: 'notification', listener: (notification: PostgresNotification) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
}

/**
 * A connection pool. The log store takes one connection for appends, one for LISTEN (while
 * someone subscribes) and short-lived ones for reads. A pool passed in stays the caller's:
 * the log store does not end it, and the caller handles its idle-connection 'error' events.
 */
export interface PostgresPool {
  connect(): Promise<PostgresPoolClient>;
  query(query: PostgresQuery): Promise<PostgresQueryResult>;
  end(): Promise<void>;
}
