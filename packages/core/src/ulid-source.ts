import { InternalError } from './errors.js';

const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const timeLength = 10;
const randomLength = 16;

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
 * moves on to the next millisecond). The time prefix is encoded once per
 * millisecond and the random part changes by its last digit, which makes an id cheap: the
 * commit path draws two per transaction.
 */
export function monotonicUlids(options: UlidSourceOptions = {}): () => string {
  const clock = options.clock ?? Date.now;
  const random = options.random ?? ((bytes: Uint8Array) => void crypto.getRandomValues(bytes));
  const digits = new Uint8Array(randomLength);
  let lastTime = -1;
  let prefix = '';
  let randomPart = '';
  return () => {
    const now = clock();
    const incremented = now > lastTime ? undefined : increment(digits, randomPart);
    if (incremented !== undefined) {
      randomPart = incremented;
    } else {
      // A new millisecond, or (rarely) a random part that overflowed: borrow the next one.
      lastTime = Math.max(now, lastTime + 1);
      prefix = encodeTime(lastTime);
      random(digits);
      for (let index = 0; index < randomLength; index += 1) digits[index] = (digits[index] as number) & 31;
      randomPart = encodeDigits(digits);
    }
    return prefix + randomPart;
  };
}

function encodeTime(time: number): string {
  if (!Number.isSafeInteger(time) || time < 0 || time > 0xffff_ffff_ffff) {
    throw new InternalError(`clock returned ${time}, not a 48-bit millisecond time`);
  }
  let text = '';
  let rest = time;
  for (let index = 0; index < timeLength; index += 1) {
    text = alphabet.charAt(rest % 32) + text;
    rest = Math.floor(rest / 32);
  }
  return text;
}

function encodeDigits(digits: Uint8Array): string {
  let text = '';
  for (const digit of digits) text += alphabet.charAt(digit);
  return text;
}

/** Adds one to the base32 digits (usually only the last changes); undefined on overflow. */
function increment(digits: Uint8Array, text: string): string | undefined {
  for (let index = randomLength - 1; index >= 0; index -= 1) {
    const digit = digits[index] as number;
    if (digit < 31) {
      digits[index] = digit + 1;
      return index === randomLength - 1 ? text.slice(0, index) + alphabet.charAt(digit + 1) : encodeDigits(digits);
    }
    digits[index] = 0;
  }
  return undefined;
}
