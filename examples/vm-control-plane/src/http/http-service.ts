import { join, resolve } from 'node:path';
import type { LogStore } from '@ordo/core';
import { fileLog } from '@ordo/adapters/file';
import { SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { openControlPlane, type ControlPlane, type ControlPlaneOptions } from '../control-plane.js';
import { generateToken } from './bearer-token.js';
import { createHttpApp } from './http-app.js';

export interface HttpServiceConfig {
  readonly host: string;
  /** 0 picks a free port (the tests do). */
  readonly port: number;
  readonly token: string;
  /** True when the token was generated here and must be shown to the operator. */
  readonly tokenGenerated: boolean;
  /** The data folder: the file log, the volume files, the simulated hosts' state. */
  readonly dataDir: string;
  /** When set, the log is in PostgreSQL at this URL (and schema) instead of the data folder. */
  readonly postgres?: { readonly connectionString: string; readonly schema?: string };
  readonly bodyBytesMax?: number;
  /** The simulated hosts. Default: agents that keep their VMs in the data folder's host-agents.json. */
  readonly hypervisor?: SimulatedHypervisor;
  /** Runtime options (entityBusyWaitMs...), for tests and benchmarks. Default: the runtime's. */
  readonly runtime?: ControlPlaneOptions['runtime'];
}

export const httpPortDefault = 8787;
export const httpHostDefault = '127.0.0.1';

/** The configuration from the environment, with the README's defaults. */
export function configFromEnvironment(env: NodeJS.ProcessEnv): HttpServiceConfig {
  const port = env.ORDO_HTTP_PORT === undefined ? httpPortDefault : Number(env.ORDO_HTTP_PORT);
  if (!Number.isSafeInteger(port) || port < 0 || port > 65_535) throw new Error(`ORDO_HTTP_PORT=${env.ORDO_HTTP_PORT}: expected a port number`);
  const token = env.ORDO_HTTP_TOKEN;
  if (token !== undefined && token.length < 16) throw new Error('ORDO_HTTP_TOKEN must be at least 16 characters');
  const url = env.ORDO_HTTP_POSTGRES_URL;
  return {
    host: env.ORDO_HTTP_HOST ?? httpHostDefault,
    port,
    token: token ?? generateToken(),
    tokenGenerated: token === undefined,
    dataDir: resolve(env.ORDO_DEMO_DIR ?? '.ordo-data/vm-control-plane'),
    ...(url === undefined ? {} : { postgres: { connectionString: url, ...(env.ORDO_HTTP_POSTGRES_SCHEMA === undefined ? {} : { schema: env.ORDO_HTTP_POSTGRES_SCHEMA }) } }),
  };
}

export interface HttpService {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  readonly plane: ControlPlane;
  /** The simulated hosts the plane drives (tests inject agent failures through it). */
  readonly hypervisor: SimulatedHypervisor;
  close(): Promise<void>;
}

/** Opens the control plane on the configured log and serves the API until `close`. */
export async function startHttpService(config: HttpServiceConfig): Promise<HttpService> {
  // Loaded only when asked for, so that the file log needs no PostgreSQL driver.
  const log: LogStore = config.postgres === undefined ? fileLog({ dir: join(config.dataDir, 'log') }) : (await import('@ordo/adapters/postgres')).postgresLog(config.postgres);
  const hypervisor = config.hypervisor ?? new SimulatedHypervisor({ stateFile: join(config.dataDir, 'host-agents.json') });
  const plane = await openControlPlane({ log, hypervisor, storageRoot: join(config.dataDir, 'storage'), ...(config.runtime === undefined ? {} : { runtime: config.runtime }) });
  const app = createHttpApp({ runtime: plane.runtime, token: config.token, ...(config.bodyBytesMax === undefined ? {} : { bodyBytesMax: config.bodyBytesMax }) });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await plane.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  return {
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    plane,
    hypervisor,
    async close() {
      await app.close();
      await plane.close();
    },
  };
}
