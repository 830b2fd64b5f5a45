import type { FastifyInstance } from 'fastify';
import type { Entity, EntityType, Store } from '@ordo/core';
import { HttpRequestError } from './http-error.js';
import { resources } from './resources.js';

/** The page size when the caller names none, and the most one page holds. */
export const pageItemsDefault = 100;
export const pageItemsMax = 1000;

export function entityJson(entity: Entity<unknown>): { kind: string; id: string; version: number; data: unknown } {
  return { kind: entity.kind, id: entity.id, version: entity.version, data: entity.data };
}

/** `ETag` is the entity's version, quoted as RFC 9110 has it. */
export function etagOf(version: number): string {
  return `"${version}"`;
}

/**
 * `GET /<collection>`: filters on indexed and unique fields (`?hostId=...`), sorted by id,
 * paged by `limit` and `cursor` (the last id of the page before). `GET /<collection>/:id`:
 * one entity with its `ETag`. Both answer from this process's folded state after `store.sync()`,
 * so that with several servers on one PostgreSQL log a read sees every write any of them
 * acknowledged before it (on a log with one writer, sync asks the log store for its head and
 * reads nothing; concurrent reads share one catch-up). The state's log position is the
 * `Ordo-Position` header: a client that then follows `/events?from=<position + 1>` misses no
 * change after what it read (the console does).
 */
export function registerResourceRoutes(app: FastifyInstance, store: Store): void {
  for (const resource of resources) {
    app.get(`/${resource.path}`, async (request, reply) => {
      await store.sync();
      const page = listPage(store, resource.type, request.query as Record<string, unknown>);
      void reply.header('ordo-position', String(store.position));
      return page;
    });
    app.get(`/${resource.path}/:id`, async (request, reply) => {
      const { id } = request.params as { id: string };
      await store.sync();
      const entity = store.get(resource.type, id);
      if (entity === undefined) throw new HttpRequestError('NOT_FOUND', `${resource.type.kind} ${id} does not exist`, { kind: resource.type.kind, id });
      void reply.header('etag', etagOf(entity.version));
      void reply.header('ordo-position', String(store.position));
      return entityJson(entity);
    });
  }
}

function listPage(store: Store, type: EntityType, query: Record<string, unknown>): { items: unknown[]; nextCursor: string | null } {
  const { limit: limitText, cursor, ...filters } = query;
  const limit = limitText === undefined ? pageItemsDefault : Number(limitText);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > pageItemsMax) {
    throw new HttpRequestError('INVALID_ARGUMENT', `limit must be an integer from 1 to ${pageItemsMax}`, { field: 'limit', value: limitText });
  }
  if (cursor !== undefined && typeof cursor !== 'string') throw new HttpRequestError('INVALID_CURSOR', 'cursor must be given once', { cursor });
  const where: Record<string, string> = {};
  for (const [field, value] of Object.entries(filters)) {
    if (typeof value !== 'string') throw new HttpRequestError('INVALID_ARGUMENT', `filter ${field} must be given once`, { field });
    where[field] = value;
  }
  // The store refuses a filter on a field that is not indexed (NOT_INDEXED, 400).
  const all = Object.keys(where).length === 0 ? store.list(type) : store.find(type, where);
  const start = cursor === undefined ? 0 : all.findIndex((entity) => entity.id > cursor);
  const page = start === -1 ? [] : all.slice(start, start + limit);
  const last = page.at(-1);
  const more = last !== undefined && all.at(-1)?.id !== last.id;
  return { items: page.map(entityJson), nextCursor: more ? last.id : null };
}
