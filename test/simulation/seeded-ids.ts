import type { Prng } from './prng.js';

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const randomCharsCount = 16;

/**
 * ULID-shaped ids (10 time characters, 16 random ones) drawn from a seeded generator and a
 * fake clock, so that a simulation produces the same ids on every run. A counter ahead of the
 * random characters keeps them unique and increasing even when the clock stands still.
 */
export function seededIds(prng: Prng, clock: () => number): () => string {
  let counter = 0;
  return () => {
    counter += 1;
    const time = encode(clock(), 10);
    const random = encode(counter, randomCharsCount - 6) + encode(prng.int(2 ** 30), 6);
    return time + random;
  };
}

function encode(value: number, length: number): string {
  let text = '';
  let rest = Math.floor(value);
  for (let index = 0; index < length; index += 1) {
    text = crockford[rest % 32]! + text;
    rest = Math.floor(rest / 32);
  }
  return text;
}
