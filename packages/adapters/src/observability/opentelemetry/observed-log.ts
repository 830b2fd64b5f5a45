import { SpanKind, type Attributes, type Tracer } from '@opentelemetry/api';
import type { LogRecord, LogStore } from '@ordo/core';
import type { OrdoInstruments } from './ordo-instruments.js';
import { endSpan } from './span-end.js';

/** What the catch-up lag gauge reads of one observed log. */
export interface LagSource {
  readonly name: string;
  /** Highest head the log store reported (head(), subscribe). */
  headSeen: number;
  /** Highest position appended or read through it. */
  known: number;
}

/**
 * The log store with each append as a span (`ordo.append`: records, bytes, the time to the
 * durable acknowledgement) and in the append metrics, and with the heads and reads that the
 * catch-up lag gauge needs. Behaves exactly as the store it wraps.
 */
export function observedLog(log: LogStore, tracer: Tracer, instruments: OrdoInstruments, lag: LagSource, idle: () => boolean): LogStore {
  const noteKnown = (position: number): void => {
    if (position > lag.known) lag.known = position;
    if (position > lag.headSeen) lag.headSeen = position;
  };
  const observed: LogStore = {
    name: log.name,
    multiWriter: log.multiWriter,
    get snapshotEvery() {
      return log.snapshotEvery;
    },
    open: async () => {
      const opened = await log.open();
      lag.headSeen = Math.max(lag.headSeen, opened.head);
      lag.known = Math.max(lag.known, opened.snapshot?.position ?? 0);
      return opened;
    },
    append: (records) => (idle() ? appendQuietly(log, records, noteKnown) : appendSpan(log, records, tracer, instruments, noteKnown)),
    read: async (from, limit) => {
      const records = await log.read(from, limit);
      const last = records.at(-1);
      if (last !== undefined) noteKnown(last.position);
      return records;
    },
    head: async () => {
      const head = await log.head();
      lag.headSeen = Math.max(lag.headSeen, head);
      return head;
    },
    subscribe: (listener) =>
      log.subscribe((head) => {
        lag.headSeen = Math.max(lag.headSeen, head);
        listener(head);
      }),
    close: () => log.close(),
  };
  // The store takes snapshots only from a log store that has writeSnapshot: keep its absence.
  if (log.writeSnapshot === undefined) return observed;
  return { ...observed, snapshotEvery: log.snapshotEvery, writeSnapshot: async (snapshot) => log.writeSnapshot?.(snapshot) };
}

async function appendQuietly(log: LogStore, records: readonly LogRecord[], noteKnown: (position: number) => void): Promise<void> {
  await log.append(records);
  const last = records.at(-1);
  if (last !== undefined) noteKnown(last.position);
}

function appendSpan(log: LogStore, records: readonly LogRecord[], tracer: Tracer, instruments: OrdoInstruments, noteKnown: (position: number) => void): Promise<void> {
  const attributes: Attributes = { 'ordo.log': log.name, 'ordo.records': records.length, 'ordo.position': records[0]?.position ?? 0 };
  // A group commit carries many transactions: it is a trace of its own, not a child of one of them.
  return tracer.startActiveSpan('ordo.append', { kind: SpanKind.INTERNAL, root: true, attributes }, async (span) => {
    // Encoding the batch again only to count bytes is paid only when someone records it.
    if (span.isRecording()) span.setAttribute('ordo.bytes', records.reduce((sum, record) => sum + Buffer.byteLength(JSON.stringify(record)), 0));
    const started = performance.now();
    try {
      await log.append(records);
      const last = records.at(-1);
      if (last !== undefined) noteKnown(last.position);
      endSpan(span, undefined);
    } catch (error) {
      endSpan(span, error);
      throw error;
    } finally {
      const durationMs = performance.now() - started;
      span.setAttribute('ordo.sync_ms', durationMs);
      instruments.batchRecords.record(records.length, { 'ordo.log': log.name });
      instruments.appendDuration.record(durationMs, { 'ordo.log': log.name });
      span.end();
    }
  });
}
