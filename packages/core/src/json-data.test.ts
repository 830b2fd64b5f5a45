import { describe, expect, it } from 'vitest';
import { frozenJson, NotJsonError, plainJsonCopy } from './json-data.js';

function problem(value: unknown): { path: unknown[]; message: string } {
  try {
    frozenJson(value);
  } catch (error) {
    if (error instanceof NotJsonError) return { path: error.path, message: error.message };
    throw error;
  }
  throw new Error('expected NotJsonError');
}

describe('frozenJson', () => {
  it('gives what a JSON round trip gives, frozen, copying only what changes', () => {
    const clean = { a: 1, b: ['x', { c: null }] };
    const result = frozenJson(clean);
    expect(result).toBe(clean);
    expect(Object.isFrozen(clean.b[1])).toBe(true);
    const messy = { zero: -0, gone: undefined, list: [-0, 2], nested: { gone: undefined, keep: true } };
    const normal = frozenJson(messy);
    expect(normal).toStrictEqual(JSON.parse(JSON.stringify(messy)));
    expect(Object.is((normal as { zero: number }).zero, 0)).toBe(true);
    expect(Object.is((normal as { list: number[] }).list[0], 0)).toBe(true);
    expect('gone' in (normal as object)).toBe(false);
  });

  it('names the path of what JSON cannot hold', () => {
    expect(problem({ a: [1, { when: new Date(0) }] })).toEqual({ path: ['a', 1, 'when'], message: 'a Date is not JSON data' });
    expect(problem({ n: Number.NaN }).path).toEqual(['n']);
    expect(problem({ n: Infinity }).path).toEqual(['n']);
    expect(problem({ list: [1, undefined] }).path).toEqual(['list', 1]);
    expect(problem({ holes: new Array<number>(2) }).path).toEqual(['holes', 0]);
    expect(problem({ big: 1n }).message).toBe('bigint is not JSON data');
    expect(problem({ map: new Map() }).message).toBe('a Map is not JSON data');
    expect(problem({ run: () => 1 }).path).toEqual(['run']);
  });

  it('copies a frozen object that needs normalizing instead of failing', () => {
    const frozen = Object.freeze({ a: -0, b: undefined });
    expect(frozenJson(frozen)).toStrictEqual({ a: 0 });
    expect(Object.is(frozen.a, -0)).toBe(true);
  });
});

describe('plainJsonCopy', () => {
  it('gives what a JSON round trip gives, sharing nothing with its input', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    let deep: unknown = 'leaf';
    for (let depth = 0; depth < 200; depth += 1) deep = [deep];
    const values: unknown[] = [
      'text',
      -0,
      12.5,
      true,
      null,
      { a: 1, b: ['x', { c: null, zero: -0 }], e: {} },
      Object.assign(Object.create(null) as object, { bare: 1 }),
      { gone: undefined, f: () => 1, list: [undefined, Number.NaN, Infinity] },
      { when: new Date(0), boxed: new String('s') },
      { toJSON: () => 'custom' },
      JSON.parse('{"__proto__": {"polluted": true}}') as unknown,
      Object.assign([1, 2], { extra: 3 }),
      deep,
    ];
    for (const value of values) {
      const copy = plainJsonCopy(value);
      expect(copy).toStrictEqual(JSON.parse(JSON.stringify(value)));
      if (typeof value === 'object' && value !== null) expect(copy).not.toBe(value);
    }
    expect(Object.is(plainJsonCopy(-0), 0)).toBe(true);
    const given = { list: [{ n: 1 }] };
    const copy = plainJsonCopy(given) as typeof given;
    given.list[0]!.n = 2;
    given.list.push({ n: 3 });
    expect(copy).toEqual({ list: [{ n: 1 }] });
    expect(() => plainJsonCopy(cycle)).toThrow(TypeError);
    expect(() => plainJsonCopy(10n)).toThrow(TypeError);
  });
});
