import { SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { startHttpService } from '../../examples/vm-control-plane/src/http/http-service.js';

// The server of the http suite, in a process of its own: the example's HTTP service (the same
// Fastify app and control plane as `pnpm serve`) on a file log in `dataDir`, with simulated
// hosts held in memory as in the ordo-operations rows (`pnpm serve` keeps them in a state
// file that it rewrites and fsyncs on every agent call, which would measure that file):
//
//   http-server-process.ts <dataDir> <token>
//
// Prints one JSON line { event: 'ready', url }, serves until its standard input ends, then closes.
const [dataDir, token] = process.argv.slice(2);
if (dataDir === undefined || token === undefined) throw new Error('usage: http-server-process.ts <dataDir> <token>');
const service = await startHttpService({ host: '127.0.0.1', port: 0, token, tokenGenerated: false, dataDir, hypervisor: new SimulatedHypervisor() });
process.stdout.write(`${JSON.stringify({ event: 'ready', url: service.url })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void service.close().then(() => process.exit(0));
});
