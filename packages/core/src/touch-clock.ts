import type { IndexValue } from './kind-state.js';

/** Records per generation of a clock: it remembers between one and two generations. */
export const touchGenerationRecords = 65_536;

type Generation = Map<string, Map<string, number>>;

/**
 * When each entity and each unique or indexed value last changed, by position, for the records
 * folded since `floor`: what a leader needs to validate a commit another process relayed, whose
 * reads arrive as keys without the objects they saw (I5). A read taken at position `base`
 * still holds when nothing it names changed after `base`; for `base` below the floor the clock
 * cannot tell, and the caller treats it as changed.
 *
 * Keys are kept in two generations of `touchGenerationRecords` records each, so memory stays
 * bounded by the recent writes, not by the size of the log.
 */
export class TouchClock {
  /** Every change after this position is in `current` or `previous`. */
  floor: number;
  private currentStart: number;
  private current: { entities: Generation; values: Generation } = { entities: new Map(), values: new Map() };
  private previous: { entities: Generation; values: Generation } | undefined;

  constructor(position: number) {
    this.floor = position;
    this.currentStart = position;
  }

  entity(kind: string, id: string, position: number): void {
    this.rotate(position);
    note(this.current.entities, kind, id, position);
  }

  value(kind: string, field: string, value: IndexValue, position: number): void {
    this.rotate(position);
    note(this.current.values, kind, valueKey(field, value), position);
  }

  /** True when the entity may have changed after `base`. */
  entityChangedAfter(kind: string, id: string, base: number): boolean {
    if (base < this.floor) return true;
    return (this.current.entities.get(kind)?.get(id) ?? this.previous?.entities.get(kind)?.get(id) ?? 0) > base;
  }

  /** True when the value's owner or bucket may have changed after `base`. */
  valueChangedAfter(kind: string, field: string, value: IndexValue, base: number): boolean {
    if (base < this.floor) return true;
    const key = valueKey(field, value);
    return (this.current.values.get(kind)?.get(key) ?? this.previous?.values.get(kind)?.get(key) ?? 0) > base;
  }

  private rotate(position: number): void {
    if (position - this.currentStart <= touchGenerationRecords) return;
    this.floor = this.previous === undefined ? this.floor : this.currentStart;
    this.previous = this.current;
    this.current = { entities: new Map(), values: new Map() };
    this.currentStart = position - 1;
  }
}

function note(generation: Generation, kind: string, key: string, position: number): void {
  let keys = generation.get(kind);
  if (keys === undefined) generation.set(kind, (keys = new Map<string, number>()));
  keys.set(key, position);
}

/** One string per field and value: `1` and `'1'` differ, undefined has its own. */
function valueKey(field: string, value: IndexValue): string {
  return `${field}\u0000${value === undefined ? 'u' : typeof value === 'string' ? `s${value}` : JSON.stringify(value)}`;
}
