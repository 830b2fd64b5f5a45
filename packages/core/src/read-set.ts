import type { EntityRef } from './errors.js';
import type { IndexValue } from './kind-state.js';
import type { Entity } from './record.js';
import type { State } from './state.js';

/**
 * Every read a transaction made, with what it observed (I5). Keys are strings so that the
 * sequencer can also test them against the keys touched by earlier transactions of the same
 * batch, whose records are not folded yet.
 */
type Read =
  | { readonly type: 'entity'; readonly kind: string; readonly id: string; readonly seen: Entity | undefined }
  | { readonly type: 'unique'; readonly kind: string; readonly field: string; readonly value: IndexValue; readonly seen: Entity | undefined }
  | { readonly type: 'bucket'; readonly kind: string; readonly field: string; readonly value: IndexValue; readonly seen: number }
  | { readonly type: 'kind'; readonly kind: string; readonly seen: number };

export function entityKey(kind: string, id: string): string {
  return `e\u0000${kind}\u0000${id}`;
}

export function valueKey(kind: string, field: string, value: IndexValue): string {
  return `v\u0000${kind}\u0000${field}\u0000${typeof value}:${String(value)}`;
}

export function kindKey(kind: string): string {
  return `k\u0000${kind}`;
}

export class ReadSet {
  private readonly reads = new Map<string, Read>();

  get size(): number {
    return this.reads.size;
  }

  entity(kind: string, id: string, seen: Entity | undefined): void {
    const key = entityKey(kind, id);
    if (!this.reads.has(key)) this.reads.set(key, { type: 'entity', kind, id, seen });
  }

  unique(kind: string, field: string, value: IndexValue, seen: Entity | undefined): void {
    const key = valueKey(kind, field, value);
    if (!this.reads.has(key)) this.reads.set(key, { type: 'unique', kind, field, value, seen });
  }

  bucket(kind: string, field: string, value: IndexValue, seen: number): void {
    const key = valueKey(kind, field, value);
    if (!this.reads.has(key)) this.reads.set(key, { type: 'bucket', kind, field, value, seen });
  }

  kind(kind: string, seen: number): void {
    const key = kindKey(kind);
    if (!this.reads.has(key)) this.reads.set(key, { type: 'kind', kind, seen });
  }

  /**
   * The reads that no longer hold in `state` or that `touched` (keys written earlier in the
   * same batch) invalidates. Empty when the transaction may commit at the state's position.
   */
  conflicts(state: State, touched?: ReadonlySet<string>): EntityRef[] {
    const found: EntityRef[] = [];
    for (const [key, read] of this.reads) {
      if (touched?.has(key) === true || !stillHolds(read, state)) found.push(describe(read));
    }
    return found;
  }
}

function stillHolds(read: Read, state: State): boolean {
  const kindState = state.kinds.get(read.kind);
  switch (read.type) {
    case 'entity':
      return kindState?.entities.get(read.id) === read.seen;
    case 'unique':
      return kindState?.unique.get(read.field)?.get(read.value) === read.seen;
    case 'bucket':
      return (kindState?.index.get(read.field)?.get(read.value)?.stamp ?? 0) === read.seen;
    case 'kind':
      return (kindState?.stamp ?? 0) === read.seen;
  }
}

function describe(read: Read): EntityRef {
  switch (read.type) {
    case 'entity':
      return { kind: read.kind, id: read.id };
    case 'unique':
    case 'bucket':
      return { kind: read.kind, id: `${read.field}=${JSON.stringify(read.value) ?? 'undefined'}` };
    case 'kind':
      return { kind: read.kind, id: '*' };
  }
}
