// `pnpm serve`: the VM control plane over HTTP on the simulated hosts. Configured by
// ORDO_HTTP_PORT, ORDO_HTTP_HOST, ORDO_HTTP_TOKEN, ORDO_DEMO_DIR and, for a PostgreSQL log,
// ORDO_HTTP_POSTGRES_URL (see the README).
import { configFromEnvironment, startHttpService } from './http-service.js';

const config = configFromEnvironment(process.env);
const service = await startHttpService(config);
process.stdout.write(`Ordo VM control plane API on ${service.url}
  log         : ${config.postgres === undefined ? `${config.dataDir}/log (file log)` : `PostgreSQL${config.postgres.schema === undefined ? '' : `, schema ${config.postgres.schema}`}`}
  data folder : ${config.dataDir}
  console     : ${service.url}/console${config.tokenGenerated ? `#token=${config.token}` : ''}
  token       : ${config.tokenGenerated ? `${config.token}   (generated; set ORDO_HTTP_TOKEN to choose one)` : '(from ORDO_HTTP_TOKEN)'}
`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await service.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
