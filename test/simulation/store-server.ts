import { createInterface } from 'node:readline';
import { isOrdoError, openStore, type LogStore } from '@ordo/core';
import { fileLog } from '@ordo/adapters/file';
import { logFromArgs } from '../postgres/shared-log-target.js';
import type { RegisterInput } from '../history/cas-register-model.js';
import type { MicroOp } from '../history/list-append.js';
import { StaleLog } from './broken/stale-log.js';
import { ListEntity, ordoListClient } from './list-append-client.js';
import { executeRegisterOp, RegisterEntity } from './register-client.js';

/**
 * A child process holding one Ordo store, for crash and multi-process runs. Started as
 *   node --conditions=@ordo/source --import tsx store-server.ts file <dir> [snapshotEvery]
 *   node --conditions=@ordo/source --import tsx store-server.ts postgres <url> <schema> [stale]
 *   node --conditions=@ordo/source --import tsx store-server.ts etcd <endpoints> <prefix> [stale]
 * `stale` wraps the log in the deliberately broken StaleLog (test/simulation/broken), to prove
 * that the multi-process run catches stale reads.
 * It reads one JSON request per line on stdin and answers each with one JSON line on stdout,
 * concurrently: { id, value } on success, { id, error: { code, message } } on failure (code
 * 'UNTYPED' for an error that is not an OrdoError). The parent records the history, so every
 * real-time bound comes from one clock.
 */
export type ServerRequest =
  | { readonly id: number; readonly type: 'list'; readonly ops: readonly MicroOp[] }
  | { readonly id: number; readonly type: 'register'; readonly key: string; readonly op: RegisterInput }
  | { readonly id: number; readonly type: 'setup'; readonly registers: readonly string[] }
  | { readonly id: number; readonly type: 'close' };

export type ServerResponse =
  | { readonly id: number; readonly value: unknown }
  | { readonly id: number; readonly error: { readonly code: string; readonly message: string } }
  | { readonly event: 'ready'; readonly position: number };

const [kind, target, third, fourth] = process.argv.slice(2);
if (target === undefined) throw new Error('usage: store-server file <dir> | postgres <url> <schema> | etcd <endpoints> <prefix>');

function makeLog(): LogStore {
  if (kind === 'file') return fileLog({ dir: target!, ...(third === undefined ? {} : { snapshotEvery: Number(third) }) });
  const log = logFromArgs(kind, target, third);
  return fourth === 'stale' ? new StaleLog(log) : log;
}

// Opening meets the network faults of a run too (a proxy that cuts every connection every few
// hundred milliseconds): like a control plane on a flaky network, this process tries again
// with a fresh log store, rather than paying for a whole new process each time.
const openAttemptsMax = 50;

async function openWithRetries(): Promise<Awaited<ReturnType<typeof openStore>>> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await openStore({ entities: [ListEntity, RegisterEntity], log: makeLog(), retries: 200 });
    } catch (error) {
      if (attempt >= openAttemptsMax || !isOrdoError(error, 'LOG_STORE_FAILED')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

const store = await openWithRetries();
send({ event: 'ready', position: store.position });

function send(message: ServerResponse): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function handle(request: ServerRequest): Promise<unknown> {
  switch (request.type) {
    case 'list':
      return ordoListClient.execute(store, request.ops, async () => undefined);
    case 'register':
      return executeRegisterOp(store, request.key, request.op);
    case 'setup':
      await store.transact((tx) => {
        for (const id of request.registers) if (tx.get(RegisterEntity, id) === undefined) tx.create(RegisterEntity, { value: 0 }, { id });
      });
      return null;
    case 'close':
      // Exit also when closing fails (a log store that lost its cluster), so that no server
      // outlives its test run.
      try {
        await store.close();
      } finally {
        setImmediate(() => process.exit(0));
      }
      return null;
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const request = JSON.parse(line) as ServerRequest;
  handle(request).then(
    (value) => send({ id: request.id, value }),
    (error: unknown) => {
      const code = isOrdoError(error) ? error.code : 'UNTYPED';
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      send({ id: request.id, error: { code, message } });
    },
  );
});
