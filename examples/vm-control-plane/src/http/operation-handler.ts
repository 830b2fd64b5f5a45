import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OperationRuntime } from '@ordo/core';
import { answeringOperation, type Answer } from './answering-operation.js';
import { HttpRequestError } from './http-error.js';
import { operationRoutes, type OperationRoute } from './operation-routes.js';
import { etagOf } from './resource-routes.js';

/** `If-Match: "3"` (or a bare `3`) -> 3; no header -> undefined. */
export function parseIfMatch(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  const match = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(text);
  if (match === null) throw new HttpRequestError('INVALID_IF_MATCH', `If-Match must be one entity version such as "3", got ${JSON.stringify(text)}`, { ifMatch: text });
  return Number(match[1]);
}

function requestIdOf(request: FastifyRequest): string | undefined {
  const header = request.headers['request-id'];
  if (header === undefined) return undefined;
  if (Array.isArray(header)) throw new HttpRequestError('INVALID_ARGUMENT', 'Request-Id must be given once', { field: 'Request-Id' });
  return header;
}

/** The operation's input: the body, with the path's id in its field for an action. */
function inputOf(route: OperationRoute, request: FastifyRequest): unknown {
  const body = request.body ?? {};
  if (route.idField === undefined) return body;
  const { id } = request.params as { id: string };
  if (typeof body !== 'object' || Array.isArray(body)) return body;
  if (route.idField in body) throw new HttpRequestError('VALIDATION_FAILED', `${route.idField} comes from the path, not the body`, { issues: [{ path: [route.idField], message: 'given in the path', code: 'unrecognized_keys' }] });
  return { ...body, [route.idField]: id };
}

/**
 * Every operation as a POST that returns once the operation is committed and applied. The
 * `Request-Id` header becomes the run's requestId: the log keeps the first answer, so a
 * retry gets it again (marked `Ordo-Replayed: true`), also after a restart.
 */
export function registerOperationRoutes(app: FastifyInstance, runtime: OperationRuntime): void {
  for (const route of operationRoutes) {
    app.post(route.path, async (request, reply) => handle(runtime, route, request, reply));
  }
}

async function handle(runtime: OperationRuntime, route: OperationRoute, request: FastifyRequest, reply: FastifyReply): Promise<Answer> {
  const requestId = requestIdOf(request);
  const expectedVersion = parseIfMatch(request.headers['if-match']);
  if (expectedVersion !== undefined && route.idField === undefined) {
    throw new HttpRequestError('INVALID_IF_MATCH', 'If-Match applies to actions on an entity, not to a create', { ifMatch: request.headers['if-match'] });
  }
  const id = route.idField === undefined ? undefined : (request.params as { id: string }).id;
  const operation = answeringOperation(route, { ...(id === undefined ? {} : { id }), ...(expectedVersion === undefined ? {} : { expectedVersion }) });
  const run = await runtime.run(operation, inputOf(route, request), requestId === undefined ? {} : { requestId });
  const answer = run.value as unknown as Answer;
  void reply.header('ordo-position', String(run.position));
  if (run.replayed) void reply.header('ordo-replayed', 'true');
  if (requestId !== undefined) void reply.header('request-id', requestId);
  if (answer.entity !== null) void reply.header('etag', etagOf(answer.entity.version));
  void reply.code(route.createdId === undefined ? 200 : 201);
  return answer;
}
