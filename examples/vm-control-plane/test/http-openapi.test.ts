import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vm } from '../src/entities/index.js';
import { operationRoutes } from '../src/http/operation-routes.js';
import { resources } from '../src/http/resources.js';
import { HttpFixture } from './http-fixture.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- walking a JSON document

let http: HttpFixture;
let document: Json;

beforeAll(async () => {
  http = new HttpFixture();
  await http.start();
  const call = await http.get('/openapi.json');
  expect(call.status).toBe(200);
  document = call.body;
});

afterAll(async () => {
  await http.cleanup();
});

describe('GET /openapi.json', () => {
  it('documents every route the server has, each operation under its own name', () => {
    expect(document.openapi).toBe('3.1.0');
    for (const resource of resources) {
      expect(document.paths[`/${resource.path}`]?.get, resource.path).toBeDefined();
      expect(document.paths[`/${resource.path}/{id}`]?.get, resource.path).toBeDefined();
    }
    for (const route of operationRoutes) {
      const post = document.paths[route.path.replace(':id', '{id}')]?.post as Json | undefined;
      expect(post?.operationId, route.path).toBe(route.operation.name);
      expect(Object.keys((post?.responses ?? {}) as Json)).toContain(route.createdId === undefined ? '200' : '201');
    }
    expect(document.paths['/events']).toBeDefined();
  });

  it('takes its schemas from the zod schemas: fields, required ones, and the refusal of unknown fields', () => {
    const vmData = document.components.schemas.vmData as Json;
    expect(Object.keys(vmData.properties as Json).sort()).toEqual(Object.keys(Vm.schema.shape).sort());
    const create = document.paths['/vms'].post.requestBody.content['application/json'].schema as Json;
    expect(create.additionalProperties).toBe(false);
    expect(create.required).toEqual(expect.arrayContaining(['name', 'vcpus', 'memoryMiB']));
    expect(create.properties.vcpus).toMatchObject({ type: 'integer', maximum: 256 });
    // An action's body leaves out the id the path carries.
    const migrate = document.paths['/vms/{id}/migrate'].post.requestBody.content['application/json'].schema as Json;
    expect(Object.keys(migrate.properties as Json)).toEqual(['targetHostId']);
    expect((document.components.schemas.Error as Json).properties.error.required).toEqual(expect.arrayContaining(['code', 'message', 'step', 'details']));
  });
});
