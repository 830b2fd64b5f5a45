import type { CommandInput } from '../command-input.js';
import { schemaVersionCounts, schemaVersionsText } from '../schema-versions.js';
import { bytesText, keyValues, textTable } from '../text-table.js';

/** `ordo info`: head, records, first available position, snapshots, segments or tables, entities and their schema versions per kind. */
export async function infoCommand(input: CommandInput): Promise<number> {
  const target = input.target();
  const store = await input.store(target);
  let counts: Record<string, number>;
  try {
    counts = {};
    for (const entity of store.dump().entities) counts[entity.kind] = (counts[entity.kind] ?? 0) + 1;
  } finally {
    await store.close();
  }
  const inspection = await target.inspect();
  const schemaVersions = await schemaVersionCounts(target.openLog({ writable: false }));
  const head = store.position;
  const first = inspection.firstPosition ?? head + 1;
  const records = Math.max(0, head - first + 1);
  if (input.json) {
    input.outJson({ log: target.shown, head, firstPosition: first, records, entities: counts, schemaVersions, snapshots: inspection.snapshots, parts: inspection.parts });
    return 0;
  }
  const kinds = Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : 1));
  const entities = kinds.map(([kind, count]) => `${kind} ${count}`).join(', ') || 'none';
  let text = keyValues([
    ['log', target.shown],
    ['head', String(head)],
    ['first available', String(first)],
    ['records', String(records)],
    ['entities', entities],
    ['schema versions', schemaVersionsText(schemaVersions)],
  ]);
  text += `\nsnapshots\n${inspection.snapshots.length === 0 ? '  none\n' : textTable(['position', 'size', 'where'], inspection.snapshots.map((entry) => [String(entry.position), bytesText(entry.bytes), entry.where]))}`;
  text += `\nstorage\n${textTable(['first position', 'size', 'name'], inspection.parts.map((part) => [part.firstPosition === undefined ? '-' : String(part.firstPosition), bytesText(part.bytes), part.name]))}`;
  input.io.out(text);
  return 0;
}
