import { InternalError } from './errors.js';

const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** The character code of each base32 digit. */
const digitCodes = Array.from(alphabet, (char) => char.charCodeAt(0));
const timeLength = 10;
const randomLength = 16;
const ulidLength = timeLength + randomLength;
/** Random bytes drawn per call of the random source: one call serves 256 milliseconds. */
const poolBytes = 4096;

export interface UlidSourceOptions {
  /** Milliseconds since the epoch. Default: Date.now. */
  readonly clock?: () => number;
  /** Fills a byte array with random bytes. Default: crypto.getRandomValues. */
  readonly random?: (bytes: Uint8Array) => void;
}

/**
 * Monotonic ULIDs (Crockford base32: 48-bit time, 80-bit randomness), the default id source.
 * Within one millisecond, or when the clock goes back, the random part is incremented, so ids
 * from one source always sort in the order they were made (an overflow of the random part
 * moves on to the next millisecond). The id's 26 character codes are kept and changed in
 * place (the time once per millisecond, the random part usually by its last digit), and each
 * id is made from them in one flat string: ids are map keys all along the commit path, and a
 * concatenated string would be flattened again where it is hashed. Random bytes are drawn
 * 4 KiB at a time.
 */
export function monotonicUlids(options: UlidSourceOptions = {}): () => string {
  const clock = options.clock ?? Date.now;
  const random = options.random ?? ((bytes: Uint8Array) => void crypto.getRandomValues(bytes));
  const pool = new Uint8Array(poolBytes);
  let drawn = poolBytes;
  const codes: number[] = Array.from({ length: ulidLength }, () => digitCodes[0] as number);
  /** The random part's digits (0..31), as `codes` spells them from `timeLength` on. */
  const digits = new Uint8Array(randomLength);
  let lastTime = -1;
  return () => {
    const now = clock();
    if (now > lastTime || !increment(digits, codes)) {
      // A new millisecond, or (rarely) a random part that overflowed: borrow the next one.
      lastTime = Math.max(now, lastTime + 1);
      encodeTime(lastTime, codes);
      if (drawn + randomLength > poolBytes) {
        random(pool);
        drawn = 0;
      }
      for (let index = 0; index < randomLength; index += 1) {
        const digit = (pool[drawn + index] as number) & 31;
        digits[index] = digit;
        codes[timeLength + index] = digitCodes[digit] as number;
      }
      drawn += randomLength;
    }
    return String.fromCharCode.apply(null, codes);
  };
}

function encodeTime(time: number, codes: number[]): void {
  if (!Number.isSafeInteger(time) || time < 0 || time > 0xffff_ffff_ffff) {
    throw new InternalError(`clock returned ${time}, not a 48-bit millisecond time`);
  }
  let rest = time;
  for (let index = timeLength - 1; index >= 0; index -= 1) {
    codes[index] = digitCodes[rest % 32] as number;
    rest = Math.floor(rest / 32);
  }
}

/** Adds one to the base32 digits (usually only the last changes) and their codes; false on overflow. */
function increment(digits: Uint8Array, codes: number[]): boolean {
  for (let index = randomLength - 1; index >= 0; index -= 1) {
    const digit = digits[index] as number;
    if (digit < 31) {
      digits[index] = digit + 1;
      codes[timeLength + index] = digitCodes[digit + 1] as number;
      return true;
    }
    digits[index] = 0;
    codes[timeLength + index] = digitCodes[0] as number;
  }
  return false;
}
