import type { OperationRuntime } from '@ordo/core';
import { hostAdd, storageContainerCreate, subnetCreate } from './operations/index.js';

export const gibibyte = 1024 ** 3;

export interface Datacenter {
  readonly hosts: { readonly h1: string; readonly h2: string; readonly h3: string };
  readonly containers: { readonly fast: string; readonly small: string };
  readonly subnets: { readonly prod: string; readonly tiny: string };
}

/**
 * A small datacenter: three hosts of different sizes, a large thin container and a small
 * one, a /24 production subnet and a tiny subnet with two addresses in its pool.
 */
export async function buildDatacenter(runtime: OperationRuntime): Promise<Datacenter> {
  const host = async (name: string, cpuThreads: number, memoryMiB: number): Promise<string> =>
    (await runtime.run(hostAdd, { name, cpuThreads, memoryMiB })).value;
  const hosts = { h1: await host('h1', 32, 65_536), h2: await host('h2', 16, 32_768), h3: await host('h3', 8, 8_192) };
  const container = async (name: string, maxCapacityBytes: number): Promise<string> =>
    (await runtime.run(storageContainerCreate, { name, maxCapacityBytes, thin: true })).value;
  const containers = { fast: await container('fast', 500 * gibibyte), small: await container('small', 20 * gibibyte) };
  const prod = await runtime.run(subnetCreate, {
    name: 'prod',
    cidr: '10.0.0.0/24',
    gateway: '10.0.0.1',
    pools: [{ start: '10.0.0.10', end: '10.0.0.200' }],
    reserved: ['10.0.0.2', '10.0.0.3'],
  });
  const tiny = await runtime.run(subnetCreate, { name: 'tiny', cidr: '10.0.9.0/29', gateway: '10.0.9.1', pools: [{ start: '10.0.9.2', end: '10.0.9.3' }] });
  return { hosts, containers, subnets: { prod: prod.value, tiny: tiny.value } };
}
