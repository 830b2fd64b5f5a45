// Run as: node --conditions=@ordo/source --import tsx lock-child.ts <dir> <write|read|hold>
// write: open for writing, report, close. read: open read-only, report, close.
// hold: open for writing and keep the lock until killed.
import { isOrdoError } from '@ordo/core';
import { fileLog } from '@ordo/adapters/file';

const [dir, mode] = process.argv.slice(2);
if (dir === undefined || (mode !== 'write' && mode !== 'read' && mode !== 'hold')) throw new Error('usage: lock-child.ts <dir> <write|read|hold>');

const print = (event: object): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
};

const log = fileLog({ dir, readOnly: mode === 'read' });
try {
  const opened = await log.open();
  print({ event: 'opened', head: opened.head, pid: process.pid });
} catch (error) {
  print({ event: 'refused', code: isOrdoError(error) ? error.code : String(error) });
  process.exit(0);
}
if (mode === 'read') {
  const appendError = await log.append([{ position: 1_000_000, txId: 'x', time: 0, changes: [] }]).then(
    () => 'none',
    (error: unknown) => (isOrdoError(error) ? error.code : String(error)),
  );
  print({ event: 'append', code: appendError });
}
if (mode === 'hold') {
  setInterval(() => undefined, 1_000);
} else {
  await log.close();
}
