// Run as: node --conditions=@ordo/source --import tsx crash-child.ts <dir> <seed>
// Opens a file-backed store and commits from several concurrent workers until it is killed,
// printing one JSON line per acknowledged record: {"event":"ack","position":n,"txId":"..."}.
import { Account, Note, openFileStore, seededRandom } from './model.js';

const [dir, seedText] = process.argv.slice(2);
if (dir === undefined || seedText === undefined) throw new Error('usage: crash-child.ts <dir> <seed>');
const seed = Number(seedText);
const random = seededRandom(seed);
const workersCount = 8;
// Small, so that snapshots are written (and interrupted) during the crash rounds, and segments
// roll (a kill may land between creating a segment and acknowledging its first write).
const snapshotEvery = 150;
const segmentBytesMax = 64 * 1024;

const print = (event: object): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
};

const store = await openFileStore({ dir, snapshotEvery, segmentBytesMax });
const accountIds = store.list(Account).map((account) => account.id);
print({ event: 'ready', position: store.position });

let serial = 0;

async function step(worker: number): Promise<void> {
  const choice = random();
  serial += 1;
  const name = `a-${seed}-${worker}-${serial}`;
  const pick = (): string | undefined => accountIds[Math.floor(random() * accountIds.length)];
  const requestId = random() < 0.1 ? `req-${seed}-${serial}` : undefined;
  const result = await store.transact(
    (tx) => {
      const id = pick();
      if (choice < 0.35 || id === undefined) {
        const account = tx.create(Account, { name, group: `g${Math.floor(random() * 4)}`, balance: 100 });
        return { created: account.id };
      }
      const account = tx.get(Account, id);
      if (account === undefined) return { missing: id };
      if (choice < 0.8) {
        tx.update(Account, id, (draft) => void (draft.balance += 1));
        if (choice < 0.5) tx.create(Note, { text: `note ${serial}`, accountId: id });
        return { updated: id };
      }
      for (const note of tx.find(Note, { accountId: id })) tx.delete(Note, note.id);
      tx.delete(Account, id);
      return { deleted: id };
    },
    requestId === undefined ? {} : { requestId },
  );
  if ('created' in result.value && result.value.created !== undefined) accountIds.push(result.value.created);
  if (result.changes.length > 0) print({ event: 'ack', position: result.position, txId: result.txId });
}

async function worker(index: number): Promise<void> {
  for (;;) await step(index);
}

await Promise.all(Array.from({ length: workersCount }, (_, index) => worker(index))).catch((error: unknown) => {
  print({ event: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
