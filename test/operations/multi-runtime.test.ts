import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { listVolumeFiles } from '@ordo/adapters/storage';
import { describePostgres, dropSchemas, uniqueSchema } from '../postgres/pg-test-env.js';
import { RuntimeChildProcess, type ChildEvent } from './runtime-child-process.js';

// Three control plane processes on one PostgreSQL log and one storage directory (I11). The
// lease is short (1.5 s, renewed every 300 ms, peers checked every 200 ms), so a takeover
// comes about 2 s after a process stops; the tests allow the documented default bound, 15 s.
const leaseMs = 1_500;
const takeoverBoundMs = 15_000;
const schemas: string[] = [];
const dirs: string[] = [];
let children: RuntimeChildProcess[] = [];

afterEach(async () => {
  await Promise.all(children.map((child) => child.end()));
  children = [];
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
afterAll(async () => {
  await dropSchemas(schemas);
});

async function cluster(count: number) {
  const schema = uniqueSchema('runtimes');
  schemas.push(schema);
  const storageRoot = mkdtempSync(join(tmpdir(), 'ordo-runtimes-'));
  dirs.push(storageRoot);
  const start = (name: string) => RuntimeChildProcess.start({ schema, storageRoot, name, leaseMs });
  const started: RuntimeChildProcess[] = [];
  for (let index = 0; index < count; index += 1) started.push(await start(`cp-${index}`));
  children.push(...started);
  await started[0]!.ask({ cmd: 'setup' }, 'setup');
  return { storageRoot, processes: started, start: async (name: string) => { const child = await start(name); children.push(child); return child; } };
}

interface Status {
  readonly runtimeId: string;
  readonly operations: number;
  readonly volumes: { id: string; name: string; sizeBytes: number }[];
  readonly recovered: { requestId: string; outcome: string; code: string | null }[];
  readonly applies: number;
}

async function status(child: RuntimeChildProcess): Promise<Status> {
  return (await child.ask({ cmd: 'status' }, 'status')) as unknown as Status;
}

/** Polls until no operation is unsettled in the log, or the bound passes. */
async function settledWithin(child: RuntimeChildProcess, boundMs: number): Promise<Status> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const seen = await status(child);
    if (seen.operations === 0 || Date.now() > deadline) return seen;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The volumes of the log and the files of the directory, file by file. */
async function expectAgreement(storageRoot: string, seen: Status): Promise<void> {
  const files = (await listVolumeFiles(storageRoot)).map((file) => [file.volumeId, file.sizeBytes]);
  const volumes = seen.volumes.map((volume) => [volume.id, volume.sizeBytes]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  expect(files.sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual(volumes);
}

function ok(event: ChildEvent): ChildEvent {
  expect(event, JSON.stringify(event)).toMatchObject({ ok: true });
  return event;
}

describePostgres('runtimes that share one PostgreSQL log', () => {
  it('a runtime killed with SIGKILL inside apply: the others settle its operation within the bound, volumes and files agree, its requestId replays the outcome', async () => {
    const { storageRoot, processes } = await cluster(3);
    const [a, b, c] = processes as [RuntimeChildProcess, RuntimeChildProcess, RuntimeChildProcess];
    ok(await a.run({ cmd: 'create', name: 'shared', sizeBytes: 1 << 20, requestId: 'shared' }));
    const doomed = a.waitFor((event) => event.event === 'applying' && event.name === 'doomed');
    a.send({ cmd: 'create', name: 'doomed', sizeBytes: 3 << 20, requestId: 'doomed', pause: 'before' });
    await doomed;
    a.signal('SIGKILL');
    const stoppedAt = Date.now();
    // Meanwhile the others work: distinct volumes, and one volume they both resize.
    const work = await Promise.all([
      ...Array.from({ length: 6 }, (_, index) => (index % 2 === 0 ? b : c).run({ cmd: 'create', name: `v${index}`, sizeBytes: (index + 1) << 20, requestId: `v${index}` })),
      b.run({ cmd: 'resize', name: 'shared', sizeBytes: 2 << 20, requestId: 'grow-b' }),
      c.run({ cmd: 'resize', name: 'shared', sizeBytes: 5 << 20, requestId: 'grow-c' }),
    ]);
    work.forEach(ok);
    const settled = await settledWithin(b, takeoverBoundMs);
    expect(settled.operations).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(takeoverBoundMs);
    const takers = [...(await status(b)).recovered, ...(await status(c)).recovered].filter((entry) => entry.requestId === 'doomed');
    expect(takers).toEqual([{ requestId: 'doomed', outcome: 'applied', code: null }]);
    const final = await status(c);
    expect(final.volumes.map((volume) => volume.name).sort()).toEqual(['doomed', 'shared', 'v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
    await expectAgreement(storageRoot, final);
    const replay = ok(await b.run({ cmd: 'create', name: 'doomed', sizeBytes: 3 << 20, requestId: 'doomed' }));
    expect(replay).toMatchObject({ replayed: true, value: final.volumes.find((volume) => volume.name === 'doomed')?.id });
  });

  it('a runtime killed with SIGKILL while it applies a compensation: another settles the revert, the file is gone, the requestId replays the failure', async () => {
    const { storageRoot, processes } = await cluster(3);
    const [a, b, c] = processes as [RuntimeChildProcess, RuntimeChildProcess, RuntimeChildProcess];
    const reverting = a.waitFor((event) => event.event === 'reverting' && event.name === 'undone');
    a.send({ cmd: 'create', name: 'undone', sizeBytes: 2 << 20, requestId: 'undone', fail: true, pause: 'revert' });
    await reverting;
    // The create was applied (its file exists) and failed; its compensation is committed, not applied.
    const before = await status(b);
    const undoneId = before.volumes.find((volume) => volume.name === 'undone')?.id;
    expect(undoneId).toBeUndefined();
    expect((await listVolumeFiles(storageRoot)).length).toBe(1);
    a.signal('SIGKILL');
    const stoppedAt = Date.now();
    ok(await c.run({ cmd: 'create', name: 'kept', sizeBytes: 1 << 20, requestId: 'kept' }));
    const settled = await settledWithin(b, takeoverBoundMs);
    expect(settled.operations).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(takeoverBoundMs);
    const takers = [...(await status(b)).recovered, ...(await status(c)).recovered].filter((entry) => entry.requestId === 'undone');
    expect(takers).toEqual([{ requestId: 'undone', outcome: 'reverted', code: 'INJECTED_FAILURE' }]);
    const final = await status(c);
    expect(final.volumes.map((volume) => volume.name)).toEqual(['kept']);
    await expectAgreement(storageRoot, final);
    // The caller's process is gone; a retry of its requestId gets the true outcome, the failure.
    const replay = await b.run({ cmd: 'create', name: 'undone', sizeBytes: 2 << 20, requestId: 'undone' });
    expect(replay).toMatchObject({ ok: false, code: 'INJECTED_FAILURE' });
    expect((await listVolumeFiles(storageRoot)).map((file) => file.volumeId)).toEqual(final.volumes.map((volume) => volume.id));
  });

  it('a runtime paused with SIGSTOP inside apply past the lease is fenced when it resumes: its late apply is refused, the files match the log', async () => {
    const { storageRoot, processes } = await cluster(3);
    const [a, b] = processes as [RuntimeChildProcess, RuntimeChildProcess, RuntimeChildProcess];
    const frozen = a.waitFor((event) => event.event === 'applying' && event.name === 'frozen');
    const answer = a.run({ cmd: 'create', name: 'frozen', sizeBytes: 1 << 20, requestId: 'frozen', pause: 'before' });
    await frozen;
    a.signal('SIGSTOP');
    const settled = await settledWithin(b, takeoverBoundMs);
    expect(settled.operations).toBe(0);
    // A later change by the new owner's side: the stale apply must not undo it.
    ok(await b.run({ cmd: 'resize', name: 'frozen', sizeBytes: 4 << 20, requestId: 'grow' }));
    a.signal('SIGCONT');
    a.send({ cmd: 'go', name: 'frozen' });
    const refused = await a.waitFor((event) => event.event === 'applyFailed' && event.name === 'frozen');
    expect(refused.code).toBe('STALE_FENCING_TOKEN');
    // Its caller gets the true outcome: the operation was applied by the runtime that took it over.
    expect(await answer).toMatchObject({ ok: true, replayed: false });
    const after = await settledWithin(a, takeoverBoundMs);
    expect(after.runtimeId).not.toBe(a.ready.runtimeId);
    expect(after.volumes).toMatchObject([{ name: 'frozen', sizeBytes: 4 << 20 }]);
    await expectAgreement(storageRoot, after);
  });

  it('a runtime started while another is busy applies nothing the other owns, and its reconcile deletes nothing the other is creating', async () => {
    const { storageRoot, processes, start } = await cluster(1);
    const [a] = processes as [RuntimeChildProcess];
    const applied = a.waitFor((event) => event.event === 'applying' && event.name === 'busy');
    const answer = a.run({ cmd: 'create', name: 'busy', sizeBytes: 1 << 20, requestId: 'busy', pause: 'after' });
    await applied;
    // More volumes are created while the newcomer starts and reconciles.
    const creating = Array.from({ length: 8 }, (_, index) => a.run({ cmd: 'create', name: `n${index}`, sizeBytes: 1 << 20, requestId: `n${index}` }));
    const newcomer = await start('newcomer');
    expect(newcomer.ready).toMatchObject({ recovered: 0, applies: 0 });
    (await Promise.all(creating)).forEach(ok);
    expect((await listVolumeFiles(storageRoot)).map((file) => file.volumeId)).toContain((await status(a)).volumes.find((volume) => volume.name === 'busy')?.id);
    a.send({ cmd: 'go', name: 'busy' });
    ok(await answer);
    const final = await settledWithin(newcomer, takeoverBoundMs);
    expect(final.operations).toBe(0);
    expect(final.applies).toBe(0);
    expect(final.volumes).toHaveLength(9);
    await expectAgreement(storageRoot, final);
  });
});
