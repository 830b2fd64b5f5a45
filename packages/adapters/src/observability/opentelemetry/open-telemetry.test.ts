import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { DataPointType, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRuntime, defineEntity, defineOperation, memoryLog, OperationError, openStore, type InfrastructureAdapter, type LogStore } from '@ordo/core';
import { fileLog } from '../../log-stores/file/file-log.js';
import { nodeFileSystem } from '../../log-stores/file/file-system.js';
import { openTelemetry } from './open-telemetry.js';

class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const Counter = defineEntity('counter', z.object({ value: z.number().int() }));
const Vm = defineEntity('vm', z.object({ name: z.string() }));
const createVm = defineOperation({ name: 'vm.create', input: z.object({ name: z.string() }), plan: (tx, input) => tx.create(Vm, input).id });
const hypervisor: InfrastructureAdapter = {
  name: 'hypervisor',
  kinds: ['vm'],
  prepare: () => undefined,
  apply: ({ changes }) => {
    const doomed = changes.some((change) => (change.after?.data as { name?: string } | undefined)?.name === 'doomed');
    if (doomed) throw new OperationError({ code: 'HOST_UNREACHABLE', message: 'host h-1 does not answer', step: 'apply' });
  },
};

const root = mkdtempSync(join(tmpdir(), 'ordo-otel-'));
const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => void context.setGlobalContextManager(contextManager.enable()));
afterAll(() => {
  context.disable();
  rmSync(root, { recursive: true, force: true });
});

function setUp(): { exporter: InMemorySpanExporter; reader: TestReader; telemetry: ReturnType<typeof openTelemetry> } {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  return { exporter, reader, telemetry: openTelemetry({ tracerProvider, meterProvider }) };
}

async function metricsOf(reader: TestReader): Promise<Map<string, MetricData>> {
  const { resourceMetrics } = await reader.collect();
  return new Map(resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).map((metric) => [metric.descriptor.name, metric]));
}

function sum(metric: MetricData | undefined): number {
  if (metric === undefined) return 0;
  return metric.dataPoints.reduce((total, point) => total + (metric.dataPointType === DataPointType.HISTOGRAM ? (point.value as { count: number }).count : (point.value as number)), 0);
}

const named = (spans: readonly ReadableSpan[], name: string): ReadableSpan[] => spans.filter((span) => span.name === name);
const parentOf = (spans: readonly ReadableSpan[], span: ReadableSpan | undefined): ReadableSpan | undefined =>
  spans.find((candidate) => candidate.spanContext().spanId === span?.parentSpanContext?.spanId);

describe('openTelemetry', () => {
  it('a scripted run on a file log: spans of transact, append, fsync and every operation step, and the metrics', async () => {
    const { exporter, reader, telemetry } = setUp();
    const log = fileLog({ dir: join(root, 'log'), fileSystem: telemetry.fileSystem(nodeFileSystem) });
    const store = await openStore({ entities: [Counter, Vm], log, telemetry });
    const { value: counterId } = await store.transact((tx) => tx.create(Counter, { value: 0 }).id);
    // Ten concurrent increments of one counter: group commit validates them in one batch, so
    // some conflict and rerun.
    await Promise.all(
      Array.from({ length: 10 }, () =>
        store.transact(async (tx) => {
          const counter = tx.get(Counter, counterId);
          await new Promise((resolve) => setTimeout(resolve, 1));
          tx.update(Counter, counterId, () => ({ value: (counter?.data.value ?? 0) + 1 }));
        }),
      ),
    );
    const runtime = await createRuntime({ store, adapters: [hypervisor], telemetry });
    await runtime.run(createVm, { name: 'web-1' });
    await expect(runtime.run(createVm, { name: 'doomed' })).rejects.toMatchObject({ code: 'HOST_UNREACHABLE' });
    await expect(runtime.run(createVm, { name: 42 } as never)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await runtime.close();
    const head = store.position;
    await store.close();

    const spans = exporter.getFinishedSpans();
    const transacts = named(spans, 'ordo.transact');
    expect(transacts.every((span) => typeof span.attributes['ordo.attempts'] === 'number')).toBe(true);
    expect(transacts.some((span) => (span.attributes['ordo.conflicts'] as number) > 0)).toBe(true);
    expect(transacts.map((span) => span.attributes['ordo.position'])).toContain(head);
    const appends = named(spans, 'ordo.append');
    expect(appends.reduce((total, span) => total + (span.attributes['ordo.records'] as number), 0)).toBe(head);
    expect(appends.every((span) => (span.attributes['ordo.bytes'] as number) > 0 && typeof span.attributes['ordo.sync_ms'] === 'number')).toBe(true);
    expect(named(spans, 'ordo.fsync').length).toBeGreaterThanOrEqual(appends.length);
    expect(parentOf(spans, named(spans, 'ordo.fsync')[0])?.name).toBe('ordo.append');

    const failedApply = named(spans, 'ordo.apply').find((span) => span.attributes['ordo.error.code'] === 'HOST_UNREACHABLE');
    expect(failedApply?.attributes['ordo.adapter']).toBe('hypervisor');
    const settle = parentOf(spans, failedApply);
    expect(settle?.name).toBe('ordo.settle');
    expect(parentOf(spans, settle)?.name).toBe('ordo.operation');
    const compensate = named(spans, 'ordo.compensate')[0];
    expect(compensate?.attributes['ordo.code']).toBe('HOST_UNREACHABLE');
    expect(parentOf(spans, compensate)).toBe(settle);
    // The revert is applied by the adapter inside the compensation.
    expect(named(spans, 'ordo.apply').some((span) => parentOf(spans, span) === compensate)).toBe(true);
    const plan = named(spans, 'ordo.plan')[0];
    expect(parentOf(spans, plan)?.name).toBe('ordo.transact');
    expect(parentOf(spans, parentOf(spans, plan))?.name).toBe('ordo.commit');
    expect(named(spans, 'ordo.prepare').map((span) => span.attributes['ordo.adapter'])).toEqual(['hypervisor', 'hypervisor']);
    const failedValidation = named(spans, 'ordo.validate').find((span) => span.attributes['ordo.error.code'] === 'VALIDATION_FAILED');
    expect(parentOf(spans, failedValidation)?.attributes['ordo.error.code']).toBe('VALIDATION_FAILED');

    const metrics = await metricsOf(reader);
    // Every record, operations, outcomes and the compensation included, is written by one transact.
    expect(sum(metrics.get('ordo.commits'))).toBe(head);
    expect(sum(metrics.get('ordo.conflicts'))).toBeGreaterThan(0);
    expect(sum(metrics.get('ordo.retries'))).toBe(sum(metrics.get('ordo.conflicts')));
    expect(sum(metrics.get('ordo.append.records'))).toBe(appends.length);
    expect(sum(metrics.get('ordo.append.duration'))).toBe(appends.length);
    expect(sum(metrics.get('ordo.fsync.duration'))).toBe(named(spans, 'ordo.fsync').length);
    expect(sum(metrics.get('ordo.operations.unsettled'))).toBe(0);
  });

  it('catch-up lag of a shared log: what another writer appended and this store has not read yet', async () => {
    const { reader, telemetry } = setUp();
    const shared = memoryLog();
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    // The observer's reads wait at the gate, as reads of a slow database would.
    const gated: LogStore = {
      name: 'memory',
      multiWriter: true,
      open: () => shared.open(),
      append: (records) => shared.append(records),
      head: () => shared.head(),
      subscribe: (listener) => shared.subscribe(listener),
      close: () => shared.close(),
      read: async (from, limit) => {
        if (from > 1) await gate;
        return shared.read(from, limit);
      },
    };
    const writer = await openStore({ entities: [Counter], log: shared });
    await writer.transact((tx) => tx.create(Counter, { value: 0 }));
    const observer = await openStore({ entities: [Counter], log: gated, telemetry });
    const lag = async (): Promise<number> => {
      const gauge = (await metricsOf(reader)).get('ordo.catchup.lag');
      return gauge?.dataPoints.reduce((total, point) => total + (point.value as number), 0) ?? -1;
    };
    expect(await lag()).toBe(0);
    for (let index = 1; index <= 5; index += 1) await writer.transact((tx) => tx.create(Counter, { value: index }));
    const caughtUp = observer.sync();
    expect(await lag()).toBe(5);
    openGate();
    await caughtUp;
    expect(observer.position).toBe(6);
    expect(await lag()).toBe(0);
    await writer.close();
    await observer.close();
  });

  it('with no provider registered it does nothing; a tracer provider registered later is used from then on', async () => {
    const telemetry = openTelemetry();
    const store = await openStore({ entities: [Counter], log: memoryLog(), telemetry });
    expect((await store.transact((tx) => tx.create(Counter, { value: 1 }))).position).toBe(1);
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    try {
      expect((await store.transact((tx) => tx.create(Counter, { value: 2 }))).position).toBe(2);
      expect(exporter.getFinishedSpans().map((span) => [span.name, span.attributes['ordo.position']])).toEqual([
        ['ordo.append', 2],
        ['ordo.transact', 2],
      ]);
    } finally {
      trace.disable();
      await store.close();
    }
  });
});
