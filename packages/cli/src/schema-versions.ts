import type { LogStore } from '@ordo/core';
import { recordBatches } from './read-records.js';

/** Per kind: how many live entities are stored at each schema version (a version absent from a change means 1). */
export type SchemaVersionCounts = Record<string, Record<string, number>>;

/**
 * Tallies the schema version each live entity's data was last written at, from the log's
 * newest snapshot (its per-kind version, or a row's own) and every record after it. Reads
 * through a log store opened read-only; changes nothing.
 */
export async function schemaVersionCounts(log: LogStore): Promise<SchemaVersionCounts> {
  const opened = await log.open();
  try {
    const versions = new Map<string, number>();
    const key = (kind: string, id: string): string => `${kind}\u0000${id}`;
    const snapshot = opened.snapshot;
    for (const [kind, id, , , rowVersion] of snapshot?.entities ?? []) {
      versions.set(key(kind, id), rowVersion ?? snapshot?.schemas?.[kind]?.version ?? 1);
    }
    for await (const batch of recordBatches(log, (snapshot?.position ?? 0) + 1, opened.head)) {
      for (const record of batch) {
        for (const change of record.changes) {
          if (change.op === 'delete') versions.delete(key(change.kind, change.id));
          else versions.set(key(change.kind, change.id), change.schemaVersion ?? 1);
        }
      }
    }
    const counts: SchemaVersionCounts = {};
    for (const [entry, version] of versions) {
      const kind = entry.slice(0, entry.indexOf('\u0000'));
      const perKind = (counts[kind] ??= {});
      perKind[String(version)] = (perKind[String(version)] ?? 0) + 1;
    }
    return counts;
  } finally {
    await log.close();
  }
}

/** `vm v1 3, v2 7; host v1 2`: the counts as one line, kinds in name order. */
export function schemaVersionsText(counts: SchemaVersionCounts): string {
  const kinds = Object.keys(counts).sort();
  if (kinds.length === 0) return 'none';
  return kinds
    .map((kind) => {
      const perKind = counts[kind] ?? {};
      const versions = Object.keys(perKind).sort((a, b) => Number(a) - Number(b));
      return `${kind} ${versions.map((version) => `v${version} ${perKind[version]}`).join(', ')}`;
    })
    .join('; ');
}
