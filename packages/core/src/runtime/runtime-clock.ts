/**
 * Time as the runtime sees it, passed in so that the core reads no clock of its own: leases
 * expire by `now`, and waits (a busy entity, an operation another runtime settles, the
 * renewal loop) go through `sleep`. A simulation passes a fake clock whose sleep moves it.
 */
export interface RuntimeClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
}

/** Wall-clock time. */
export const systemClock: RuntimeClock = Object.freeze({
  now: () => Date.now(),
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
});

/**
 * The pause of the background loop: with the system clock its timer does not keep the
 * process alive on its own (a program that forgets `close` still exits); with another clock
 * it is that clock's sleep.
 */
export function idle(clock: RuntimeClock, ms: number): Promise<void> {
  if (clock !== systemClock) return clock.sleep(ms);
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    (timer as { unref?: () => void }).unref?.();
  });
}
