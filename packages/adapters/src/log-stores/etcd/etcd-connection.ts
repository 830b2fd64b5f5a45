import { createRequire } from 'node:module';
import { LogStoreError } from '@ordo/core';
import type * as Etcd3Namespace from 'etcd3';
import type { Etcd3, IOptions, IRangeRequest, IRangeResponse, ITxnRequest, ITxnResponse } from 'etcd3';

/**
 * The part of an etcd client the log store uses. Every call has a deadline and is sent once:
 * a call that fails is never retried behind the store's back (see `ownedConnection`).
 */
export interface EtcdConnection {
  txn(request: ITxnRequest): Promise<ITxnResponse>;
  /** A linearizable range read (ReadIndex): it sees every write acknowledged before the call. */
  range(request: IRangeRequest): Promise<IRangeResponse>;
  /** Calls `onPut` with the value of every put of `key` seen; `onLost` when the watch broke. */
  watch(key: Buffer, onPut: (value: Buffer) => void, onLost: (error: Error) => void): Promise<() => Promise<void>>;
  /** Grants a lease of `ttlSeconds` (with the call deadline); resolves with its id and the TTL etcd chose. */
  leaseGrant(ttlSeconds: number): Promise<{ readonly id: string; readonly ttlSeconds: number }>;
  /** Revokes a lease, which deletes every key bound to it; a lease already gone is no error. */
  leaseRevoke(id: string): Promise<void>;
  /** Opens a keepalive stream for lease `id` (see `LeaseKeepAlive`). */
  leaseKeepAlive(id: string): Promise<LeaseKeepAlive>;
  /**
   * 'not-written' when etcd refused the request before applying it (invalid argument, request
   * too large, space exceeded, permission denied): nothing of it can have been applied.
   * 'unknown' for everything else (unavailable, deadline exceeded, cancelled, unknown):
   * etcd may have applied it or may still apply it.
   */
  outcomeOf(error: unknown): 'not-written' | 'unknown';
  close(): void;
}

/**
 * One lease's keepalive stream. `renew` sends one keepalive and resolves with the TTL etcd
 * granted from now on, in seconds (0: the lease is gone); it rejects when no answer came within
 * `timeoutMs` or the stream broke, after which every `renew` rejects: a new stream is the
 * caller's decision, never a hidden retry.
 */
export interface LeaseKeepAlive {
  renew(timeoutMs: number): Promise<number>;
  close(): void;
}

export interface ConnectionSettings {
  readonly endpoints: readonly string[];
  readonly callTimeoutMs: number;
  readonly auth?: { readonly username: string; readonly password: string } | undefined;
}

// gRPC keepalive: a dead member or a silently dropped connection is noticed within about
// keepaliveTimeMs + keepaliveTimeoutMs even while no call is in flight (watches included).
// etcd's default --grpc-keepalive-min-time is 5 s; pinging more often gets the client cut off.
const keepaliveTimeMs = 10_000;
const keepaliveTimeoutMs = 5_000;
// A read returns at most a few batches of at most ~1.4 MiB each (see etcd-log.ts).
const receiveBytesMax = 64 * 1024 * 1024;
const reconnectDelayFirstMs = 100;
const reconnectDelayMaxMs = 2_000;

type Etcd3Module = typeof Etcd3Namespace;

/**
 * The client a log store makes for itself. `etcd3` is loaded on first use, not when this module
 * is imported, so an application that never opens an etcd log does not need it installed.
 */
export function ownedConnection(settings: ConnectionSettings): EtcdConnection {
  let loading: Promise<{ client: Etcd3; module: Etcd3Module }> | undefined;
  let module: Etcd3Module | undefined;
  let closed = false;
  const ready = (): Promise<{ client: Etcd3; module: Etcd3Module }> =>
    (loading ??= createClient(settings).then((created) => {
      module = created.module;
      return created;
    }));
  return {
    txn: async (request) => (await ready()).client.kv.txn(request),
    range: async (request) => (await ready()).client.kv.range(request),
    watch: async (key, onPut, onLost) => {
      // watcher() rather than create(): create() waits for the stream, which on a member cut
      // off from the others can take for ever; the poll behind the watch covers that time.
      const watcher = (await ready()).client.watch().key(key).watcher();
      watcher.on('put', (kv) => onPut(kv.value));
      watcher.on('error', (error) => onLost(error));
      watcher.on('end', () => onLost(new Error('watch ended')));
      return async () => watcher.cancel();
    },
    leaseGrant: async (ttlSeconds) => {
      const granted = await (await ready()).client.leaseClient.leaseGrant({ TTL: ttlSeconds });
      return { id: granted.ID, ttlSeconds: Number(granted.TTL) };
    },
    leaseRevoke: async (id) => {
      const { client, module: loaded } = await ready();
      try {
        await client.leaseClient.leaseRevoke({ ID: id });
      } catch (error) {
        if (!(error instanceof loaded.EtcdLeaseInvalidError)) throw error;
      }
    },
    leaseKeepAlive: async (id) => keepAliveStream(await (await ready()).client.leaseClient.leaseKeepAlive(), id),
    outcomeOf: (error) => {
      // Before etcd3 loaded, nothing was sent.
      if (module === undefined) return 'not-written';
      const refused =
        error instanceof module.GRPCInvalidArgumentError ||
        error instanceof module.GRPCResourceExhastedError ||
        error instanceof module.EtcdPermissionDeniedError ||
        error instanceof module.GRPCUnauthenticatedError ||
        error instanceof module.GRPCFailedPreconditionError ||
        error instanceof module.ClientClosedError;
      return refused ? 'not-written' : 'unknown';
    },
    close: () => {
      if (closed) return;
      closed = true;
      void loading?.then(({ client }) => client.close()).catch(() => undefined);
    },
  };
}

type KeepAliveStream = Awaited<ReturnType<Etcd3['leaseClient']['leaseKeepAlive']>>;

/** Answers arrive in the order of the requests on one stream: a queue of waiters matches them. */
function keepAliveStream(stream: KeepAliveStream, id: string): LeaseKeepAlive {
  const waiting: { resolve: (ttl: number) => void; reject: (error: Error) => void; timer: ReturnType<typeof setTimeout> }[] = [];
  let broken: Error | undefined;
  const fail = (error: Error): void => {
    if (broken !== undefined) return;
    broken = error;
    for (const waiter of waiting.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    stream.cancel();
  };
  stream.on('data', (response) => {
    const waiter = waiting.shift();
    if (waiter === undefined) return;
    clearTimeout(waiter.timer);
    waiter.resolve(Number(response.TTL));
  });
  stream.on('error', (error) => fail(error));
  stream.on('end', () => fail(new Error('the lease keepalive stream ended')));
  return {
    renew: (timeoutMs) =>
      new Promise<number>((resolve, reject) => {
        if (broken !== undefined) {
          reject(broken);
          return;
        }
        const timer = setTimeout(() => fail(new Error(`no lease keepalive answer within ${timeoutMs} ms`)), timeoutMs);
        waiting.push({ resolve, reject, timer });
        stream.write({ ID: id });
      }),
    close: () => fail(new Error('the lease keepalive stream was closed')),
  };
}

async function createClient(settings: ConnectionSettings): Promise<{ client: Etcd3; module: Etcd3Module }> {
  let module: Etcd3Module;
  let noop: unknown;
  try {
    module = await import('etcd3');
    // etcd3 retries every call, transactions included, three times unless told otherwise, and
    // the way its documentation gives (cockatiel's Policy.noop) is undefined in the cockatiel
    // it ships. Take `noop` from that very cockatiel, resolved from where etcd3 is installed.
    const requireFromEtcd3 = createRequire(createRequire(import.meta.url).resolve('etcd3'));
    noop = (requireFromEtcd3('cockatiel') as { noop?: unknown }).noop;
  } catch (error) {
    throw new LogStoreError({
      store: 'etcd',
      message: 'the peer dependency etcd3 is not installed: add it (npm install etcd3)',
      cause: error,
      outcome: 'not-written',
    });
  }
  if (typeof noop !== 'object' || noop === null || typeof (noop as { execute?: unknown }).execute !== 'function') {
    throw new LogStoreError({ store: 'etcd', message: 'the cockatiel beside etcd3 has no noop policy: retries cannot be turned off', outcome: 'not-written' });
  }
  type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;
  const options: IOptions = {
    hosts: [...settings.endpoints],
    // Per member, etcd3's circuit breaker stays: it only steers calls away from a member that
    // failed three times in a row, and never repeats a call.
    faultHandling: { global: noop as Policy },
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + settings.callTimeoutMs }),
    grpcOptions: {
      'grpc.keepalive_time_ms': keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': keepaliveTimeoutMs,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_receive_message_length': receiveBytesMax,
      // After a broken connection, calls to that member fail at once until it reconnects:
      // keep that short, as a member that restarts is back within about a second.
      'grpc.initial_reconnect_backoff_ms': reconnectDelayFirstMs,
      'grpc.max_reconnect_backoff_ms': reconnectDelayMaxMs,
    },
    ...(settings.auth === undefined ? {} : { auth: { username: settings.auth.username, password: settings.auth.password } }),
  };
  return { client: new module.Etcd3(options), module };
}
