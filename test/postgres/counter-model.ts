import { z } from 'zod';
import { defineEntity } from '@ordo/core';

/** Shared counters that every process increments (read-modify-write). */
export const Counter = defineEntity('counter', z.object({ value: z.number().int() }));

/** Entities whose `name` must stay unique across every process. */
export const Item = defineEntity('item', z.object({ name: z.string(), worker: z.number().int() }), { unique: ['name'] });

export const counterIds = (count: number): string[] => Array.from({ length: count }, (_, index) => `counter-${index}`);
