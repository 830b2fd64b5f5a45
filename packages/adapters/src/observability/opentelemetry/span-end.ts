import { SpanStatusCode, type Span } from '@opentelemetry/api';

/** The stable `code` of an Ordo error (or a Node error code), else the error's name. */
export function errorCode(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'unknown';
}

/** Marks how a span's work ended: on failure the status is ERROR with the error's code and the exception. */
export function endSpan(span: Span, error: unknown): void {
  if (error === undefined) return;
  const code = errorCode(error);
  span.setAttribute('ordo.error.code', code);
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${code}: ${error instanceof Error ? error.message : 'non-Error thrown'}` });
}
