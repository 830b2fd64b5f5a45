import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpService, type HttpService, type HttpServiceConfig } from '../src/http/http-service.js';

export const testToken = 'test-token-0123456789abcdef';

export interface HttpCall {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

/** Calls to one server of the API: reads without a token, POSTs with the test token. */
export abstract class HttpClient {
  /** `http://host:port` of the server. */
  abstract get url(): string;

  async get(path: string, headers: Record<string, string> = {}): Promise<HttpCall> {
    return this.call('GET', path, undefined, headers);
  }

  /** A POST with the token unless `headers` says otherwise. */
  async post(path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpCall> {
    return this.call('POST', path, body, { authorization: `Bearer ${testToken}`, ...headers });
  }

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpCall> {
    const withBody = body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) };
    const contentType = body === undefined ? {} : { 'content-type': 'application/json' };
    const response = await fetch(`${this.url}${path}`, { method, headers: { ...contentType, ...headers }, ...withBody });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  }
}

/** A server of the API on loopback (a free port) over a file log in a temporary data folder. */
export class HttpFixture extends HttpClient {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'ordo-http-'));
  service: HttpService | undefined;

  async start(overrides: Partial<HttpServiceConfig> = {}): Promise<HttpService> {
    this.service = await startHttpService({ host: '127.0.0.1', port: 0, token: testToken, tokenGenerated: false, dataDir: this.dataDir, ...overrides });
    return this.service;
  }

  /** Stops the server and starts a new one on the same data folder: state comes from the log alone. */
  async restart(): Promise<HttpService> {
    await this.service?.close();
    return this.start();
  }

  async cleanup(): Promise<void> {
    await this.service?.close().catch(() => undefined);
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  get url(): string {
    if (this.service === undefined) throw new Error('not started');
    return this.service.url;
  }
}

export interface HttpDatacenter {
  readonly hosts: { readonly big: string; readonly small: string };
  readonly container: string;
  readonly subnet: string;
}

/** Two hosts, a container and a subnet, created through the API. */
export async function buildHttpDatacenter(http: HttpClient): Promise<HttpDatacenter> {
  const created = async (path: string, body: unknown): Promise<string> => {
    const call = await http.post(path, body);
    if (call.status !== 201) throw new Error(`${path}: ${call.status} ${JSON.stringify(call.body)}`);
    return (call.body.entity as { id: string }).id;
  };
  const big = await created('/hosts', { name: 'big', cpuThreads: 32, memoryMiB: 65_536 });
  const small = await created('/hosts', { name: 'small', cpuThreads: 4, memoryMiB: 4096 });
  const container = await created('/storage-containers', { name: 'fast', maxCapacityBytes: 100 * 1024 ** 3, thin: true });
  const subnet = await created('/subnets', { name: 'prod', cidr: '10.0.0.0/24', gateway: '10.0.0.1', pools: [{ start: '10.0.0.10', end: '10.0.0.20' }] });
  return { hosts: { big, small }, container, subnet };
}
