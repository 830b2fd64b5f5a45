import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { LogRecord } from '@ordo/core';
import { fileLog } from './file-log.js';
import type { FileLogWarning } from './file-log-warning.js';

const root = mkdtempSync(join(tmpdir(), 'ordo-file-log-modes-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const modeOf = (path: string): number => statSync(path).mode & 0o777;

function record(position: number): LogRecord {
  return { position, txId: `tx-${position}`, time: 1_700_000_000_000, changes: [{ op: 'create', kind: 'item', id: `i-${position}`, version: 1, data: {} }] };
}

describe('file log permissions', () => {
  it('creates its directory (and missing parents) 0700 and every file 0600: segments, snapshots, LOCK', async () => {
    const dir = join(root, 'parent', 'log');
    const warnings: FileLogWarning[] = [];
    const log = fileLog({ dir, segmentBytesMax: 4096, onWarning: (warning) => warnings.push(warning) });
    await log.open();
    for (let position = 1; position <= 60; position += 1) await log.append([record(position)]);
    await log.writeSnapshot?.({ format: 1, position: 60, entities: [], requests: [] });
    expect(modeOf(join(root, 'parent'))).toBe(0o700);
    expect(modeOf(dir)).toBe(0o700);
    const names = readdirSync(dir);
    expect(names.filter((name) => name.endsWith('.seg')).length).toBeGreaterThan(1);
    expect(names).toContain('LOCK');
    expect(names.some((name) => name.endsWith('.snap'))).toBe(true);
    for (const name of names) expect([name, modeOf(join(dir, name))]).toEqual([name, 0o600]);
    await log.close();
    expect(warnings).toEqual([]);
  });

  it('warns, through onWarning, when an existing directory is open to others, and changes nothing', async () => {
    const dir = join(root, 'shared');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    for (const readOnly of [false, true]) {
      const warnings: FileLogWarning[] = [];
      const log = fileLog({ dir, readOnly, onWarning: (warning) => warnings.push(warning) });
      await log.open();
      await log.close();
      expect(warnings).toEqual([expect.objectContaining({ type: 'directory-open-to-others', dir, mode: 0o755 })]);
      expect(warnings[0]?.message).toContain('0755');
    }
    expect(modeOf(dir)).toBe(0o755);
  });

  it('warns on the console by default', async () => {
    const dir = join(root, 'default-warning');
    mkdirSync(dir);
    chmodSync(dir, 0o750);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const log = fileLog({ dir });
      await log.open();
      await log.close();
      expect(warn).toHaveBeenCalledWith(expect.stringContaining(`the log directory ${dir} has mode 0750`));
    } finally {
      warn.mockRestore();
    }
  });
});
