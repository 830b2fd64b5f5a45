/**
 * A clock that moves only when asked: each reading advances it by `stepMs`, so records get
 * strictly increasing, reproducible times. Starts at a fixed epoch.
 */
export interface FakeClock {
  (): number;
  /** Moves the clock forward without reading it. */
  advance(ms: number): void;
}

export function fakeClock(options: { startMs?: number; stepMs?: number } = {}): FakeClock {
  let now = options.startMs ?? 1_700_000_000_000;
  const step = options.stepMs ?? 1;
  const clock = (() => {
    now += step;
    return now;
  }) as FakeClock;
  clock.advance = (ms: number) => {
    now += ms;
  };
  return clock;
}
