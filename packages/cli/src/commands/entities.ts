import { NotFoundError, type Entity, type JsonValue } from '@ordo/core';
import { CliUsageError } from '../cli-errors.js';
import type { CommandInput } from '../command-input.js';
import { keyValues, textTable } from '../text-table.js';

/** The entities of the state at `--at N` (default: the head). */
async function entitiesAt(input: CommandInput): Promise<{ entities: readonly Entity[]; position: number }> {
  const store = await input.store(input.target(), input.integer('at', 0));
  try {
    return { entities: store.dump().entities, position: store.position };
  } finally {
    await store.close();
  }
}

/** `ordo get KIND ID [--at N]`. */
export async function getCommand(input: CommandInput): Promise<number> {
  const kind = input.positional(0, 'KIND');
  const id = input.positional(1, 'ID');
  const { entities, position } = await entitiesAt(input);
  const entity = entities.find((candidate) => candidate.kind === kind && candidate.id === id);
  if (entity === undefined) throw new NotFoundError({ kind, id });
  if (input.json) {
    input.outJson({ position, entity });
    return 0;
  }
  input.io.out(keyValues([
    ['kind', entity.kind],
    ['id', entity.id],
    ['version', String(entity.version)],
    ['at position', String(position)],
  ]));
  input.io.out(`${JSON.stringify(entity.data, null, 2)}\n`);
  return 0;
}

/** `ordo list KIND [--where field=value]... [--at N]`: `field` may be a dotted path; `value` is JSON, or else a string. */
export async function listCommand(input: CommandInput): Promise<number> {
  const kind = input.positional(0, 'KIND');
  const filters = input.strings('where').map(parseWhere);
  const { entities, position } = await entitiesAt(input);
  const matching = entities.filter((entity) => entity.kind === kind && filters.every((filter) => filter.matches(entity)));
  if (input.json) {
    input.outJson({ position, entities: matching });
    return 0;
  }
  input.io.out(textTable(['id', 'version', 'data'], matching.map((entity) => [entity.id, String(entity.version), JSON.stringify(entity.data)])));
  input.io.out(`${matching.length} ${kind} at position ${position}\n`);
  return 0;
}

function parseWhere(text: string): { matches(entity: Entity): boolean } {
  const equals = text.indexOf('=');
  if (equals <= 0) throw new CliUsageError(`--where needs field=value, got ${JSON.stringify(text)}`);
  const path = text.slice(0, equals).split('.');
  const raw = text.slice(equals + 1);
  let wanted: JsonValue;
  try {
    wanted = JSON.parse(raw) as JsonValue;
  } catch {
    wanted = raw;
  }
  const expected = JSON.stringify(wanted);
  return {
    matches(entity) {
      let value: unknown = entity.data;
      for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
      return JSON.stringify(value) === expected || (typeof value === 'string' && value === raw);
    },
  };
}
