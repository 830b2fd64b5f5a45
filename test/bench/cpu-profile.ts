import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/**
 * ORDO_BENCH_CPU_PROFILE=<dir>: starts a CPU profile of this process; the function it returns
 * stops it and writes it to `<dir>/<name>.cpuprofile`. Without the variable both do nothing.
 */
export async function startCpuProfile(): Promise<(name: string) => Promise<void>> {
  const dir = process.env.ORDO_BENCH_CPU_PROFILE;
  if (dir === undefined) return async () => undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async (name) => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}
