import { z } from 'zod';
import { defineEntity } from '@ordo/core';

// The vm kind at two schema versions, as two releases of one control plane would define it:
// version 2 adds `memoryMiB`. `VmV2Writing1` is the first release of a rolling upgrade: it
// reads version 2 but writes version 1, which processes still on version 1 can read.
const schemaV1 = z.object({ name: z.string() });
const schemaV2 = schemaV1.extend({ memoryMiB: z.number().int() });
const addMemory = (data: { readonly [key: string]: unknown }) => ({ ...data, memoryMiB: 512 }) as never;
const dropMemory = (data: { readonly [key: string]: unknown }) => {
  const { memoryMiB: _dropped, ...rest } = data;
  return rest as never;
};

export const VmV1 = defineEntity('vm', schemaV1, { unique: ['name'] });
export const VmV2 = defineEntity('vm', schemaV2, { unique: ['name'], version: 2, migrations: { 1: addMemory } });
export const VmV2Writing1 = defineEntity('vm', schemaV2, {
  unique: ['name'],
  version: 2,
  migrations: { 1: addMemory },
  writeVersion: 1,
  downgrades: { 2: dropMemory },
});

export const releases = { v1: VmV1, v2: VmV2, 'v2-writing-v1': VmV2Writing1 } as const;
export type Release = keyof typeof releases;
