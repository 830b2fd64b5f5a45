import { z } from 'zod';
import { operationRoutes, type OperationRoute } from './operation-routes.js';
import { resources } from './resources.js';

/** The error body as a schema, for the document (error-body.ts builds it). */
const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    step: z.enum(['validate', 'plan', 'prepare', 'commit', 'apply', 'request']),
    adapter: z.string().optional(),
    entity: z.object({ kind: z.string(), id: z.string() }).optional(),
    details: z.record(z.string(), z.unknown()),
  }),
});

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** An action's body is its input without the id, which the path carries. */
function bodySchema(route: OperationRoute): z.ZodType {
  const input = route.operation.input;
  if (route.idField === undefined || !(input instanceof z.ZodObject)) return input;
  const without: Record<string, true> = { [route.idField]: true };
  return input.omit(without as never);
}

const errorResponses = { default: { description: 'the operation\'s own error; see the status table in the README', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } };
const entityRef = (kind: string): JsonSchema => ({ $ref: `#/components/schemas/${kind}` });
const wrapped = (kind: string): JsonSchema => ({
  type: 'object',
  properties: { kind: { type: 'string', const: kind }, id: { type: 'string' }, version: { type: 'integer', minimum: 1 }, data: { $ref: `#/components/schemas/${kind}Data` } },
  required: ['kind', 'id', 'version', 'data'],
});

function operationPath(route: OperationRoute): [string, JsonSchema] {
  const path = route.path.replace(':id', '{id}');
  const success = route.createdId === undefined ? '200' : '201';
  const parameters = [
    ...(route.idField === undefined ? [] : [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }, { name: 'If-Match', in: 'header', schema: { type: 'string' }, description: 'the entity version the action must run at' }]),
    { name: 'Request-Id', in: 'header', schema: { type: 'string' }, description: 'idempotency key: a retry gets the first response' },
  ];
  const answer = { type: 'object', properties: { entity: { oneOf: [entityRef(route.type.kind), { type: 'null' }] }, deleted: { type: 'object' }, result: {} }, required: ['entity', 'result'] };
  return [path, {
    post: {
      operationId: route.operation.name,
      security: [{ bearer: [] }],
      parameters,
      requestBody: { required: false, content: { 'application/json': { schema: jsonSchema(bodySchema(route), 'input') } } },
      responses: { [success]: { description: 'committed and applied', content: { 'application/json': { schema: answer } } }, ...errorResponses },
    },
  }];
}

/** The OpenAPI 3.1 document of the API, from the same zod schemas the entities and operations validate with. */
export function openApiDocument(): JsonSchema {
  const schemas: Record<string, JsonSchema> = { Error: jsonSchema(errorBodySchema, 'output') };
  const paths: Record<string, JsonSchema> = {};
  for (const resource of resources) {
    const kind = resource.type.kind;
    schemas[`${kind}Data`] = jsonSchema(resource.type.schema, 'output');
    schemas[kind] = wrapped(kind);
    const filters = [...resource.type.unique, ...resource.type.index].map((field) => ({ name: field, in: 'query', schema: { type: 'string' } }));
    const page = { type: 'object', properties: { items: { type: 'array', items: entityRef(kind) }, nextCursor: { type: ['string', 'null'] } }, required: ['items', 'nextCursor'] };
    paths[`/${resource.path}`] = {
      get: {
        operationId: `${kind}.list`,
        parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } }, { name: 'cursor', in: 'query', schema: { type: 'string' } }, ...filters],
        responses: { '200': { description: 'a page, sorted by id', content: { 'application/json': { schema: page } } }, ...errorResponses },
      },
    };
    paths[`/${resource.path}/{id}`] = {
      get: {
        operationId: `${kind}.get`,
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': { description: 'the entity; ETag is its version', content: { 'application/json': { schema: entityRef(kind) } } }, ...errorResponses },
      },
    };
  }
  for (const route of operationRoutes) {
    const [path, item] = operationPath(route);
    paths[path] = { ...paths[path], ...item };
  }
  paths['/events'] = { get: { operationId: 'events', description: 'the log as server-sent events; resumable with Last-Event-ID', responses: { '200': { description: 'text/event-stream' } } } };
  return {
    openapi: '3.1.0',
    info: { title: 'Ordo VM control plane', version: '1.0.0' },
    paths,
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  };
}
