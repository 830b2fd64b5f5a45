import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { OperationRuntime } from '@ordo/core';
import { requireBearer } from './bearer-token.js';
import { registerConsoleRoutes } from './console-routes.js';
import { errorResponse } from './error-body.js';
import { registerEventStream } from './event-stream.js';
import { openApiDocument } from './openapi-document.js';
import { HttpRequestError } from './http-error.js';
import { registerOperationRoutes } from './operation-handler.js';
import { registerResourceRoutes } from './resource-routes.js';

/** The largest request body accepted; a VM create with every disk and NIC is far below it. */
export const requestBodyBytesMax = 64 * 1024;

export interface HttpAppOptions {
  readonly runtime: OperationRuntime;
  /** The bearer token every mutating call must carry. */
  readonly token: string;
  readonly bodyBytesMax?: number;
}

/** Fastify's own refusals (body, parsing) under the API's codes. */
function translateFastifyError(error: FastifyError): unknown {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpRequestError('BODY_TOO_LARGE', error.message, {});
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpRequestError('UNSUPPORTED_MEDIA_TYPE', 'request bodies are application/json', { contentType: null });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new HttpRequestError('INVALID_JSON', error.message, {});
    default:
      return error.statusCode === 400 && error.code === undefined ? new HttpRequestError('INVALID_JSON', error.message, {}) : error;
  }
}

/** The API on one runtime, not yet listening: routes, the token check, errors as the README documents them. */
export function createHttpApp(options: HttpAppOptions): FastifyInstance {
  const app = Fastify({ bodyLimit: options.bodyBytesMax ?? requestBodyBytesMax, logger: false });
  // Bodies are JSON only: without this, a text/plain body would reach the operation as a string.
  app.removeContentTypeParser('text/plain');
  // Checked before the body is read, so an unauthenticated caller cannot make the server parse anything.
  app.addHook('onRequest', async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') requireBearer(request.headers.authorization, options.token);
  });
  app.setErrorHandler(async (error: FastifyError, _request, reply) => {
    const isFastifys = typeof error.code === 'string' && error.code.startsWith('FST_');
    const response = errorResponse(isFastifys || error instanceof SyntaxError ? translateFastifyError(error) : error);
    if (response.status === 500) process.stderr.write(`ordo-http: ${String(error.stack ?? error)}\n`);
    if (response.retryAfterSeconds !== undefined) void reply.header('retry-after', String(response.retryAfterSeconds));
    return reply.code(response.status).send(response.body);
  });
  app.setNotFoundHandler(async (request, reply) => {
    const response = errorResponse(new HttpRequestError('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url}`, { method: request.method, url: request.url }));
    return reply.code(response.status).send(response.body);
  });
  registerResourceRoutes(app, options.runtime.store);
  registerOperationRoutes(app, options.runtime);
  registerEventStream(app, options.runtime.store);
  registerConsoleRoutes(app);
  const document = openApiDocument();
  app.get('/openapi.json', async () => document);
  return app;
}
