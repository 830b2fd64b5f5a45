import { describe, expect, it } from 'vitest';
import { decodeTime, isValid } from 'ulid';
import { monotonicUlids } from './ulid-source.js';

describe('monotonic ULID source', () => {
  it('makes valid, unique ULIDs that sort in the order they were made, across and within milliseconds', () => {
    let now = 1_700_000_000_000;
    const next = monotonicUlids({ clock: () => now });
    const ids: string[] = [];
    for (let index = 0; index < 20_000; index += 1) {
      if (index % 1000 === 0) now += 1;
      ids.push(next());
    }
    expect(ids.every((id) => isValid(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(decodeTime(ids[0] as string)).toBe(1_700_000_000_001);
    expect(decodeTime(ids.at(-1) as string)).toBe(1_700_000_000_020);
  });

  it('keeps order when the clock goes back, and carries across digits', () => {
    let now = 5000;
    const next = monotonicUlids({ clock: () => now, random: (bytes) => void bytes.fill(31).fill(0, 0, 1) });
    const first = next();
    now = 4000;
    const second = next();
    expect(second > first).toBe(true);
    expect(decodeTime(second)).toBe(5000);
    expect(second.slice(10)).toBe('1000000000000000');
    // Every digit at its highest: the next id moves on to the next millisecond.
    const full = monotonicUlids({ clock: () => 7000, random: (bytes) => void bytes.fill(31) });
    const last = full();
    const overflowed = full();
    expect(overflowed > last).toBe(true);
    expect(decodeTime(overflowed)).toBe(7001);
  });

  it('is deterministic for a given clock and random source', () => {
    const make = () => monotonicUlids({ clock: () => 42, random: (bytes) => bytes.forEach((_, index) => (bytes[index] = index * 7)) });
    const a = make();
    const b = make();
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
  });
});
