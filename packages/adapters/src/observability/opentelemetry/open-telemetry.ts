import { context, createNoopMeter, metrics, ProxyTracerProvider, SpanKind, trace, type Attributes, type Meter, type MeterProvider, type Span, type TracerProvider } from '@opentelemetry/api';
import type { LogStore, Telemetry, TelemetryAttributes, TelemetryStep } from '@ordo/core';
import type { FileLogFileSystem } from '../../log-stores/file/file-system.js';
import { observedLog, type LagSource } from './observed-log.js';
import { ordoInstruments, type OrdoInstruments } from './ordo-instruments.js';
import { endSpan } from './span-end.js';

export interface OpenTelemetryOptions {
  /** Default: the global provider (`trace.getTracerProvider()`), a no-op until an SDK registers one. */
  readonly tracerProvider?: TracerProvider;
  /** Default: the global provider (`metrics.getMeterProvider()`). */
  readonly meterProvider?: MeterProvider;
}

/** Ordo's telemetry over OpenTelemetry: pass it as `telemetry` to `openStore` and `createRuntime`. */
export interface OrdoOpenTelemetry extends Telemetry {
  /** A file log's file system whose every fdatasync is a span (`ordo.fsync`) and in `ordo.fsync.duration`. */
  fileSystem(fileSystem: FileLogFileSystem): FileLogFileSystem;
}

const scopeName = '@ordo';

/**
 * Spans and metrics of the store, the runtime and the log store, through `@opentelemetry/api`
 * (an optional peer dependency: only this module loads it). With no SDK registered the API's
 * tracer and meter do nothing; without `telemetry` in `openStore`, Ordo calls nothing at all.
 */
export function openTelemetry(options: OpenTelemetryOptions = {}): OrdoOpenTelemetry {
  const tracerProvider = options.tracerProvider ?? trace.getTracerProvider();
  const tracer = tracerProvider.getTracer(scopeName);
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(scopeName);
  const instruments = ordoInstruments(meter);
  const idle = idleCheck(tracerProvider, meter);
  const lags = new Set<LagSource>();
  instruments.catchUpLag.addCallback((result) => {
    for (const lag of lags) result.observe(Math.max(0, lag.headSeen - lag.known), { 'ordo.log': lag.name });
  });
  return {
    step<Value>(step: TelemetryStep, attributes: TelemetryAttributes, work: (note: (attributes: TelemetryAttributes) => void) => Promise<Value>): Promise<Value> {
      if (idle()) return work(ignoreNote);
      const span = tracer.startSpan(`ordo.${step}`, { kind: SpanKind.INTERNAL, attributes: spanAttributes(attributes) });
      // No provider, or a sampler that dropped it: no attributes to set, no context to enter.
      if (!span.isRecording()) return runStep(instruments, step, span, work, undefined);
      return context.with(trace.setSpan(context.active(), span), () => runStep(instruments, step, span, work, span));
    },
    observeLog(log: LogStore): LogStore {
      const lag: LagSource = { name: log.name, headSeen: 0, known: 0 };
      lags.add(lag);
      const observed = observedLog(log, tracer, instruments, lag, idle);
      // The gauge forgets a closed log.
      return { ...observed, close: () => observed.close().finally(() => lags.delete(lag)) };
    },
    fileSystem(fileSystem: FileLogFileSystem): FileLogFileSystem {
      return {
        ...fileSystem,
        async open(path, mode) {
          const handle = await fileSystem.open(path, mode);
          return {
            ...handle,
            datasync: (syncOptions) =>
              idle() ? handle.datasync(syncOptions) : tracer.startActiveSpan('ordo.fsync', { kind: SpanKind.INTERNAL, attributes: { 'ordo.file': path } }, async (span) => {
                const started = performance.now();
                try {
                  await handle.datasync(syncOptions);
                } catch (error) {
                  endSpan(span, error);
                  throw error;
                } finally {
                  instruments.fsyncDuration.record(performance.now() - started);
                  span.end();
                }
              }),
          };
        },
      };
    },
  };
}

const ignoreNote = (): void => undefined;
// What the API hands out while no SDK is registered: a fresh proxy's delegate, a no-op meter.
const noopTracerProvider = new ProxyTracerProvider().getDelegate();
const noopMeterClass: unknown = createNoopMeter().constructor;

/**
 * True while nothing could record: the tracer provider is the API's global proxy with no SDK
 * behind it (yet: one registered later is seen at the next step), and the meter is the API's
 * no-op meter (the metrics API has no proxy: a meter provider registered later is not seen).
 * Then a step costs one comparison: no span object, no attributes, no promise of its own.
 */
function idleCheck(tracerProvider: TracerProvider, meter: Meter): () => boolean {
  const metricsIdle = meter.constructor === noopMeterClass;
  if (!metricsIdle || !(tracerProvider instanceof ProxyTracerProvider)) return () => false;
  return () => tracerProvider.getDelegate() === noopTracerProvider;
}

/** Runs a step's work inside its span; `recording` is the span when its attributes are wanted. */
async function runStep<Value>(
  instruments: OrdoInstruments,
  step: TelemetryStep,
  span: Span,
  work: (note: (attributes: TelemetryAttributes) => void) => Promise<Value>,
  recording: Span | undefined,
): Promise<Value> {
  const noted: Record<string, string | number | boolean | undefined> = {};
  const note = (more: TelemetryAttributes): void => {
    Object.assign(noted, more);
    recording?.setAttributes(spanAttributes(more));
  };
  if (step === 'settle') instruments.unsettled.add(1);
  try {
    const value = await work(note);
    countStep(instruments, step, noted, false);
    return value;
  } catch (error) {
    countStep(instruments, step, noted, true);
    endSpan(span, error);
    throw error;
  } finally {
    if (step === 'settle') instruments.unsettled.add(-1);
    span.end();
  }
}

/** Commits, conflicts and retries from what a transaction noted (attempts, conflicts, committed). */
function countStep(instruments: OrdoInstruments, step: TelemetryStep, noted: TelemetryAttributes, failed: boolean): void {
  if (step !== 'transact') return;
  const conflicts = typeof noted.conflicts === 'number' ? noted.conflicts : 0;
  const attempts = typeof noted.attempts === 'number' ? noted.attempts : 1;
  if (conflicts > 0) instruments.conflicts.add(conflicts);
  if (attempts > 1) instruments.retries.add(attempts - 1);
  if (!failed && noted.committed === true) instruments.commits.add(1);
}

// Attribute names seen so far (a handful), so that each is converted once.
const attributeNames = new Map<string, string>();

/** `requestId` -> `ordo.request_id`; undefined values are left out. */
function spanAttributes(attributes: TelemetryAttributes): Attributes {
  const result: Attributes = {};
  for (const key in attributes) {
    const value = attributes[key];
    if (value === undefined) continue;
    let name = attributeNames.get(key);
    if (name === undefined) {
      name = `ordo.${key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)}`;
      attributeNames.set(key, name);
    }
    result[name] = value;
  }
  return result;
}
