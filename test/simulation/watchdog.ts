/**
 * Races a simulation run against a real-time limit, so that a hang (a promise nobody settles)
 * fails fast with the seed to replay instead of stalling the suite until vitest's timeout.
 */
export async function withWatchdog<Value>(promise: Promise<Value>, limitMs: number, what: string): Promise<Value> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: did not finish within ${limitMs} ms (a hang)`)), limitMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
