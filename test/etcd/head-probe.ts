import { isOrdoError } from '@ordo/core';
import { etcdLog } from '@ordo/adapters/etcd';

/**
 * Reads the head of an etcd log once and prints `{ "head": n }` or `{ "error": code }`. Run
 * inside a member's network namespace, it is a client that can reach that member only.
 * Usage: head-probe.ts <endpoint> <prefix> <callTimeoutMs>
 */
const [endpoint, prefix, timeout] = process.argv.slice(2);
if (endpoint === undefined || prefix === undefined || timeout === undefined) throw new Error('usage: head-probe <endpoint> <prefix> <callTimeoutMs>');
const log = etcdLog({ endpoints: [endpoint], prefix, callTimeoutMs: Number(timeout) });
try {
  process.stdout.write(`${JSON.stringify({ head: await log.head() })}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: isOrdoError(error) ? error.code : String(error) })}\n`);
} finally {
  await log.close();
}
