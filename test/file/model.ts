import { z } from 'zod';
import { defineEntity, memoryLog, openStore, type LogRecord, type Store, type StateDump } from '@ordo/core';
import { fileLog, type FileLogOptions } from '@ordo/adapters/file';

/** A small model with a unique field and an index, so that recovery must rebuild both. */
export const Account = defineEntity(
  'account',
  z.object({ name: z.string().min(1), group: z.string(), balance: z.number().int() }),
  { unique: ['name'], index: ['group'] },
);

export const Note = defineEntity('note', z.object({ text: z.string(), accountId: z.string() }), { index: ['accountId'] });

export const entities = [Account, Note];

export function openFileStore(options: FileLogOptions): Promise<Store> {
  return openStore({ entities, log: fileLog(options) });
}

/** A seeded random source (mulberry32), so that a failing round can be rerun with its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every record of a store's log, read in pages, checked to be gapless from 1. */
export async function readAll(store: Store): Promise<LogRecord[]> {
  const all: LogRecord[] = [];
  const pageRecordsMax = 5_000;
  while (all.length < store.position) {
    const page = await store.read({ from: all.length + 1, limit: pageRecordsMax });
    if (page.length === 0) break;
    page.forEach((record, index) => {
      if (record.position !== all.length + index + 1) throw new Error(`gap: record ${record.position} where ${all.length + index + 1} belongs`);
    });
    all.push(...page);
  }
  return all;
}

/** The state a fresh store reaches by folding `records` one by one from an empty log (no snapshot). */
export async function rebuiltDump(records: readonly LogRecord[]): Promise<StateDump> {
  const log = memoryLog();
  await log.open();
  const pageRecordsMax = 5_000;
  for (let start = 0; start < records.length; start += pageRecordsMax) await log.append(records.slice(start, start + pageRecordsMax));
  const rebuilt = await openStore({ entities, log });
  const dump = rebuilt.dump();
  await rebuilt.close();
  return dump;
}
