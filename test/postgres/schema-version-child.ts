import { openStore } from '@ordo/core';
import { postgresLog } from '@ordo/adapters/postgres';
import { releases, type Release } from './schema-version-model.js';

/**
 * A process of one release on a shared PostgreSQL log: opens a store with that release's vm
 * type, creates one vm, prints `{ position, version }` (the schema version its record stored)
 * and exits. `node --conditions=@ordo/source --import tsx schema-version-child.ts <url> <schema> <release> <name>`.
 */
const [url, schema, release, name] = process.argv.slice(2);
if (url === undefined || schema === undefined || name === undefined || !(release !== undefined && release in releases)) {
  throw new Error('usage: schema-version-child <url> <schema> <release> <name>');
}
const Vm = releases[release as Release];
const store = await openStore({ entities: [Vm], log: postgresLog({ connectionString: url, schema }) });
const created = await store.transact((tx) => tx.create(Vm, { name, memoryMiB: 2048 }));
const [record] = await store.read({ from: created.position, limit: 1 });
const change = record?.changes[0];
process.stdout.write(`${JSON.stringify({ position: created.position, version: change !== undefined && 'schemaVersion' in change ? change.schemaVersion : 1 })}\n`);
await store.close();
