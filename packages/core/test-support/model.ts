import { z } from 'zod';
import { defineEntity, memoryLog, openStore, type LogStore, type OpenStoreOptions, type Store } from '@ordo/core';

/** A small entity model shared by the core's tests. */
export const Host = defineEntity('host', z.object({ name: z.string().min(1), memoryMiB: z.number().int().positive() }), {
  unique: ['name'],
});

export const Vm = defineEntity(
  'vm',
  z.object({
    name: z.string().min(1),
    hostId: z.string().optional(),
    memoryMiB: z.number().int().positive(),
    tags: z.array(z.string()).default([]),
  }),
  { unique: ['name'], index: ['hostId'] },
);

export const Counter = defineEntity('counter', z.object({ value: z.number().int() }));

export const entities = [Host, Vm, Counter];

export async function open(log: LogStore = memoryLog(), options: Partial<OpenStoreOptions> = {}): Promise<Store> {
  return openStore({ entities, log, ...options });
}

/** Resolves to the error a promise rejects with; fails when it resolves. */
export async function failure(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the promise to reject');
}
