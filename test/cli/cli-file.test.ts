import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileLog } from '@ordo/adapters/file';
import { z } from 'zod';
import { defineEntity, openStore, type LogRecord } from '@ordo/core';
import { collect, jsonOf, runCli, runCliProcess, startCli } from './run-cli.js';
import { Host, Vm, writeSampleLog, type SampleLog } from './sample-log.js';

const root = mkdtempSync(join(tmpdir(), 'ordo-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let sample: SampleLog;
const logDir = join(root, 'log');
const url = `file:${logDir}`;

beforeAll(async () => {
  sample = await writeSampleLog(fileLog({ dir: logDir }));
});

async function readAll(dir: string): Promise<LogRecord[]> {
  const log = fileLog({ dir, readOnly: true });
  const { head } = await log.open();
  const records = head === 0 ? [] : await log.read(1, head);
  await log.close();
  return records;
}

describe('ordo against a file log', () => {
  it('info: head, records, first position, snapshots, segments and entities per kind', async () => {
    const info = jsonOf<{ head: number; records: number; firstPosition: number; entities: Record<string, number>; snapshots: { position: number; bytes: number }[]; parts: unknown[] }>(
      await runCli(['info', '--log', url, '--json']),
    );
    expect(info).toMatchObject({ head: sample.head, records: sample.head, firstPosition: 1, entities: { host: 5, vm: 1 }, schemaVersions: { host: { 1: 5 }, vm: { 1: 1 } } });
    expect(info.snapshots).toEqual([expect.objectContaining({ position: sample.head - 1 })]);
    expect(info.snapshots[0]?.bytes).toBeGreaterThan(0);
    expect(info.parts).toHaveLength(1);
    const human = await runCliProcess(['info'], { ORDO_LOG: url });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/head\s+13/);
    expect(human.stdout).toContain('host 5, vm 1');
    expect(human.stdout).toMatch(/schema versions\s+host v1 5; vm v1 1/);
  });

  it('info: schema versions per kind count each live entity at the version its data was last written at', async () => {
    const dir = join(root, 'versions');
    const schema = z.strictObject({ name: z.string() });
    const v1 = defineEntity('disk', schema);
    const v2 = defineEntity('disk', schema, { version: 2, migrations: { 1: (data) => data } });
    const old = await openStore({ entities: [v1], log: fileLog({ dir }) });
    const ids = (await old.transact((tx) => [0, 1, 2].map((n) => tx.create(v1, { name: `d${n}` }).id))).value;
    await old.close();
    const next = await openStore({ entities: [v2], log: fileLog({ dir }) });
    await next.transact((tx) => {
      tx.update(v2, ids[0] ?? '', (draft) => void (draft.name = 'd0-renamed'));
      tx.delete(v2, ids[1] ?? '');
    });
    await next.close();
    const info = jsonOf<{ schemaVersions: Record<string, Record<string, number>> }>(await runCli(['info', '--log', `file:${dir}`, '--json']));
    expect(info.schemaVersions).toEqual({ disk: { 1: 1, 2: 1 } });
  });

  it('records: --from, --limit, --kind, as JSON lines equal to the log, and as a table', async () => {
    const all = await readAll(logDir);
    const run = await runCli(['records', '--log', url, '--from', '2', '--limit', '3', '--json']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split('\n').map((line) => JSON.parse(line) as LogRecord)).toEqual(all.slice(1, 4));
    const vms = await runCli(['records', '--log', url, '--kind', 'vm', '--json']);
    const positions = vms.stdout.trim().split('\n').map((line) => (JSON.parse(line) as LogRecord).position);
    expect(positions).toEqual(all.filter((record) => record.changes.some((change) => change.kind === 'vm')).map((record) => record.position));
    const table = await runCli(['records', '--log', url, '--limit', '1']);
    expect(table.stdout).toContain('add-host-0');
    expect(table.stdout).toContain(`create host ${all[0]?.changes[0]?.id ?? '?'} v1`);
  });

  it('get and list: the state at the head, or replayed to --at N; --where filters', async () => {
    const [head, before, list, filtered, missing] = await Promise.all([
      runCli(['get', 'host', sample.hostId, '--log', url, '--json']),
      runCli(['get', 'host', sample.hostId, '--log', url, '--at', '3', '--json']),
      runCli(['list', 'host', '--log', url, '--json']),
      runCli(['list', 'host', '--log', url, '--where', 'memoryMiB=2048', '--where', 'name=h-1', '--json']),
      runCli(['get', 'host', 'no-such-id', '--log', url]),
    ]);
    expect(jsonOf<{ entity: { version: number; data: unknown } }>(head).entity).toMatchObject({ version: 2, data: { name: 'h-0', memoryMiB: 4096 } });
    expect(jsonOf<{ position: number; entity: { version: number } }>(before)).toMatchObject({ position: 3, entity: { version: 1, data: { memoryMiB: 1024 } } });
    expect(jsonOf<{ entities: unknown[] }>(list).entities).toHaveLength(5);
    expect(jsonOf<{ entities: { data: { name: string } }[] }>(filtered).entities.map((entity) => entity.data.name)).toEqual(['h-1']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('ordo: NOT_FOUND: host no-such-id does not exist');
  });

  it('operation: the story of a compensated operation from the log alone, by requestId or by any of its records', async () => {
    type Story = { record: LogRecord; status: string; settlements: { type: string; afterMs: number; error?: Record<string, unknown> }[] };
    const [byRequest, byOutcome, succeeded] = await Promise.all([
      runCli(['operation', sample.failedRequestId, '--log', url, '--json']),
      runCli(['operation', String(sample.failedPosition + 2), '--log', url, '--json']),
      runCli(['operation', String(sample.succeededPosition), '--log', url]),
    ]);
    const story = jsonOf<Story>(byRequest);
    expect(story.record.position).toBe(sample.failedPosition);
    expect(story.status).toBe('compensated');
    expect(story.settlements.map((entry) => entry.type)).toEqual(['compensation', 'outcome']);
    expect(story.settlements[0]?.afterMs).toBe(7);
    expect(story.settlements[0]?.error).toMatchObject({ code: 'HOST_UNREACHABLE', step: 'apply', adapter: 'hypervisor', entity: { kind: 'vm' }, details: { host: 'h-1', timeoutMs: 5000 } });
    expect(jsonOf<Story>(byOutcome).record.position).toBe(sample.failedPosition);
    expect(succeeded.stdout).toMatch(/status\s+succeeded/);
    expect(succeeded.stdout).toMatch(/outcome\s+position \d+, 7 ms after commit/);
  });

  it('verify: exit 0 on an intact log, with progress on stderr', async () => {
    const run = await runCli(['verify', '--log', url]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`ok: ${url}, records 1..${sample.head}`);
    expect(run.stderr).toMatch(/verify: \d+\/\d+ records, \d+ records\/s/);
  });

  it('verify: a flipped byte mid-log is LOG_CORRUPT naming the file and byte offset, exit 1, log unchanged', async () => {
    const dir = join(root, 'damaged');
    await writeSampleLog(fileLog({ dir, preallocateBytes: 0 }), { snapshot: false });
    const segment = join(dir, readdirSync(dir).find((name) => name.endsWith('.seg')) ?? '');
    const bytes = readFileSync(segment);
    const offset = Math.floor(bytes.length / 3);
    bytes[offset] = (bytes[offset] ?? 0) ^ 0xff;
    writeFileSync(segment, bytes);
    const run = await runCliProcess(['verify', '--log', `file:${dir}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^ordo: LOG_CORRUPT: file log store: log corrupt in ${segment} at byte \\d+: `, 'm'));
    expect(readFileSync(segment).equals(bytes)).toBe(true);
  });

  it('verify: a damaged snapshot file and a snapshot that is not the replayed state are both named', async () => {
    const dir = join(root, 'bad-snapshots');
    const written = await writeSampleLog(fileLog({ dir, snapshotsKept: 3 }));
    // A snapshot with a valid checksum whose state is wrong: the replay must catch it.
    const log = fileLog({ dir, snapshotsKept: 3 });
    await log.open();
    await log.writeSnapshot?.({ format: 1, position: written.head, entities: [], requests: [] });
    await log.close();
    const damaged = join(dir, readdirSync(dir).find((name) => name === `snapshot-${String(written.head - 1).padStart(20, '0')}.snap`) ?? '');
    const bytes = readFileSync(damaged);
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] ?? 0) ^ 0xff;
    writeFileSync(damaged, bytes);
    const run = await runCli(['verify', '--log', `file:${dir}`]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`LOG_CORRUPT: file log store: log corrupt in ${damaged} at byte 0: snapshot damaged`);
    expect(run.stdout).toMatch(/SNAPSHOT_MISMATCH: snapshot \S+snapshot-0+13\.snap at position 13 differs from replaying the log: host \S+ is in the replayed state/);
    expect(run.stdout).toContain('2 problem(s)');
  });

  it('export and import: a checksummed round trip whose dump and records equal the original', async () => {
    const out = join(root, 'backup.ordo');
    const exported = await runCli(['export', '--log', url, '--out', out, '--snapshot', '--json']);
    expect(jsonOf(exported)).toMatchObject({ records: sample.head, snapshot: sample.head - 1 });
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const restoredDir = join(root, 'restored');
    const imported = await runCli(['import', '--in', out, '--log', `file:${restoredDir}`]);
    expect(imported.code).toBe(0);
    expect(await readAll(restoredDir)).toEqual(await readAll(logDir));
    expect(readdirSync(restoredDir).some((name) => name === `snapshot-${String(sample.head - 1).padStart(20, '0')}.snap`)).toBe(true);
    const store = await openStore({ entities: [Host, Vm], log: fileLog({ dir: restoredDir }) });
    expect(store.dump()).toEqual(sample.dump);
    await store.close();
    const again = await runCli(['import', '--in', out, '--log', `file:${restoredDir}`]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^ordo: TARGET_NOT_EMPTY: /);
  });

  it('import refuses a changed or cut export as a whole and creates nothing', async () => {
    const out = join(root, 'to-tamper.ordo');
    expect((await runCli(['export', '--log', url, '--out', out])).code).toBe(0);
    const lines = readFileSync(out, 'utf8').split('\n');
    const tampered = join(root, 'tampered.ordo');
    writeFileSync(tampered, lines.map((line, index) => (index === 3 ? line.replace('"h-2"', '"h-9"') : line)).join('\n'));
    const cut = join(root, 'cut.ordo');
    writeFileSync(cut, `${lines.slice(0, 5).join('\n')}\n`);
    const [changed, short] = await Promise.all([
      runCli(['import', '--in', tampered, '--log', `file:${join(root, 'never-1')}`]),
      runCli(['import', '--in', cut, '--log', `file:${join(root, 'never-2')}`]),
    ]);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toContain('EXPORT_INVALID');
    expect(changed.stderr).toContain('checksum mismatch');
    expect(short.stderr).toContain('ends without its end line');
    expect(existsSync(join(root, 'never-1'))).toBe(false);
    expect(existsSync(join(root, 'never-2'))).toBe(false);
  });

  it('a SIGKILLed export leaves no file at --out; the next export removes the leftover and succeeds', async () => {
    const dir = join(root, 'large');
    const log = fileLog({ dir, durability: 'none' });
    await log.open();
    const recordsTotal = 60_000;
    for (let first = 1; first <= recordsTotal; first += 1000) {
      await log.append(
        Array.from({ length: 1000 }, (_, index) => ({
          position: first + index,
          txId: `tx-${first + index}`,
          time: 1_767_225_600_000 + first + index,
          changes: [{ op: 'create' as const, kind: 'item', id: `item-${first + index}`, version: 1, data: { text: 'x'.repeat(200) } }],
        })),
      );
    }
    await log.close();
    const out = join(root, 'large.ordo');
    const child = startCli(['export', '--log', `file:${dir}`, '--out', out]);
    const ended = collect(child);
    const partial = join(root, `.large.ordo.ordo-partial-${child.pid ?? 0}`);
    for (let waited = 0; !(existsSync(partial) && statSync(partial).size > 0); waited += 1) {
      if (waited > 2000) throw new Error('the export never started writing');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    child.kill('SIGKILL');
    expect((await ended).signal).toBe('SIGKILL');
    expect(existsSync(out)).toBe(false);
    const leftover = await runCli(['import', '--in', partial, '--log', `file:${join(root, 'from-partial')}`]);
    expect(leftover.code).toBe(1);
    expect(leftover.stderr).toContain('EXPORT_INVALID');
    const run = await runCli(['export', '--log', `file:${dir}`, '--out', out, '--json']);
    expect(jsonOf(run)).toMatchObject({ records: recordsTotal });
    expect(existsSync(partial)).toBe(false);
  });

  it('tail: prints records appended by another process until stopped', async () => {
    const dir = join(root, 'tailed');
    const log = fileLog({ dir });
    await log.open();
    const record = (position: number): LogRecord => ({ position, txId: `tx-${position}`, time: position, changes: [{ op: 'create', kind: 'item', id: `i-${position}`, version: 1, data: {} }] });
    await log.append([record(1)]);
    const child = startCli(['tail', '--log', `file:${dir}`, '--from', '1', '--json']);
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const ended = collect(child);
    const seen = async (count: number): Promise<void> => {
      for (let waited = 0; stdout.trim().split('\n').filter(Boolean).length < count; waited += 1) {
        if (waited > 1000) throw new Error(`tail printed ${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    await seen(1);
    await log.append([record(2), record(3)]);
    await seen(3);
    child.kill('SIGTERM');
    const run = await ended;
    await log.close();
    expect(run.code).toBe(0);
    expect(stdout.trim().split('\n').map((line) => (JSON.parse(line) as LogRecord).position)).toEqual([1, 2, 3]);
  });

  it('bad command lines: one line on stderr and exit code 2', async () => {
    const [unknown, badOption, noLog, badUrl] = await Promise.all([
      runCliProcess(['frob']),
      runCli(['records', '--log', url, '--from', 'x']),
      runCli(['info'], { ORDO_LOG: '' }),
      runCli(['info', '--log', 'ftp://x']),
    ]);
    for (const run of [unknown, badOption, noLog, badUrl]) {
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^ordo: USAGE: /);
    }
    expect(badOption.stderr).toContain('--from must be an integer >= 1');
  });
});
