import type { LogStore } from '@ordo/core';

/**
 * Waits until the log store's commit relay found its place (it leads or follows), so that a
 * bench row measures the relay at work and not its first lead check. No relay: returns at once.
 */
export async function relaySettled(log: LogStore, waitMsMax = 30_000): Promise<void> {
  const deadline = Date.now() + waitMsMax;
  while (log.relay !== undefined && log.relay.route === 'direct') {
    if (Date.now() > deadline) throw new Error(`the commit relay neither led nor followed within ${waitMsMax} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A route as one letter, for the `routes` column: L leads, F follows, D appends directly (or no relay). */
export function routeLetter(route: unknown): 'L' | 'F' | 'D' {
  return route === 'lead' ? 'L' : route === 'follow' ? 'F' : 'D';
}

/**
 * The relay's route halfway through a run of `durationMs` that starts now (at the end, a
 * process whose leader already closed would show a new place). Undefined until then, or
 * without a relay.
 */
export function routeHalfway(log: LogStore, durationMs: number): () => string | undefined {
  let route: string | undefined;
  setTimeout(() => (route = log.relay?.route), durationMs / 2);
  return () => route;
}
