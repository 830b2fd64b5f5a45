import { describe, expect, it } from 'vitest';
import { Prng } from './prng.js';

describe('seeded PRNG', () => {
  it('produces the same sequence for the same seed and a different one for another seed', () => {
    const draw = (seed: number): number[] => {
      const prng = new Prng(seed);
      return Array.from({ length: 8 }, () => prng.nextUint32());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(new Set(draw(0)).size).toBe(8);
  });

  it('stays in range and spreads evenly', () => {
    const prng = new Prng(7);
    const buckets = [0, 0, 0, 0];
    for (let index = 0; index < 40_000; index += 1) {
      const value = prng.int(4);
      buckets[value] = buckets[value]! + 1;
      const float = prng.float();
      expect(float >= 0 && float < 1).toBe(true);
    }
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(500);
    expect(() => prng.int(0)).toThrow();
  });

  it('forks independent, reproducible streams', () => {
    const a = new Prng(1).fork(3);
    const b = new Prng(1).fork(3);
    const c = new Prng(1).fork(4);
    const first = [a.nextUint32(), a.nextUint32()];
    expect([b.nextUint32(), b.nextUint32()]).toEqual(first);
    expect([c.nextUint32(), c.nextUint32()]).not.toEqual(first);
  });
});
