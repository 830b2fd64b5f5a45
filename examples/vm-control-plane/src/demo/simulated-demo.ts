// The default demo (simulated hosts): a VM control plane on Ordo, on the crash-safe file log. Run it twice: the
// second run finds the first run's log and replays each step from it (every step carries a
// requestId), then restarts and prints the same datacenter.
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileLog, type FileLogRecoveryEvent } from '@ordo/adapters/file';
import { SimulatedHypervisor } from '@ordo/adapters/hypervisor';
import { findDisagreements } from '../agreement.js';
import { openControlPlane, type ControlPlane } from '../control-plane.js';
import { Narrator } from './narrator.js';
import { inventory } from './inventory.js';
import { runScenario } from './scenario.js';

const dataDir = resolve(process.env.ORDO_DEMO_DIR ?? '.ordo-data/vm-control-plane');
const paths = { log: join(dataDir, 'log'), storage: join(dataDir, 'storage'), hosts: join(dataDir, 'host-agents.json') };

process.stdout.write(`Ordo VM control plane demo
  data folder : ${dataDir}
                (log/ = the file log, storage/ = volume files, host-agents.json = the simulated hosts)
  to reset    : rm -rf ${dataDir}   (or ORDO_DEMO_DIR=<dir> pnpm demo for another folder)
`);

// After a crash, opening the log may cut the unacknowledged tail of the last write: say so.
const log = (): ReturnType<typeof fileLog> => fileLog({ dir: paths.log, onRecovery: reportRecovery });

function reportRecovery(event: FileLogRecoveryEvent): void {
  const what =
    event.action === 'cut-torn-tail'
      ? `cut the torn tail of ${event.file} at byte ${event.offset}, ${event.bytes} bytes (${event.reason}); it held no acknowledged record`
      : event.action === 'set-aside-damaged-snapshot'
        ? `set aside the damaged snapshot ${event.file} as ${event.movedTo} (${event.reason})`
        : `removed the unfinished snapshot ${event.file}`;
  process.stdout.write(`  log recovery: ${what}\n`);
}

let hypervisor = new SimulatedHypervisor({ stateFile: paths.hosts });
let plane: ControlPlane = await openControlPlane({ log: log(), hypervisor, storageRoot: paths.storage, name: 'demo' });
const narrator = new Narrator(() => plane.runtime);
if (plane.store.position > 0) {
  narrator.say(`\nThe log already holds ${plane.store.position} records from an earlier run. Every step carries a requestId,\nso steps done before are replayed from the log (marked 'replayed'), not run again.`);
}

await runScenario(narrator, plane, hypervisor, paths.storage);

narrator.heading('Restart: state and infrastructure rebuilt from the log alone');
const before = plane.store.position;
await plane.close();
// While the control plane is down, every host reboots and its agent forgets its VMs.
rmSync(paths.hosts, { force: true });
hypervisor = new SimulatedHypervisor({ stateFile: paths.hosts });
narrator.say(`  control plane stopped at record ${before}; all host agents rebooted and now hold ${hypervisor.domains().length} VMs`);
const started = performance.now();
plane = await openControlPlane({ log: log(), hypervisor, storageRoot: paths.storage, name: 'demo' });
const elapsed = (performance.now() - started).toFixed(0);
narrator.say(`  reopened the file log: state at record ${plane.store.position}, in ${elapsed} ms (fold, recovery, adapters reconcile)`);
narrator.say(`  unfinished operations found by recovery: ${plane.runtime.recovered.length === 0 ? 'none' : plane.runtime.recovered.map((entry) => `${entry.operation}@${entry.position} ${entry.outcome}`).join(', ')}`);
narrator.say(`  host agents now hold ${hypervisor.domains().length} VMs, ${hypervisor.domains().filter((domain) => domain.state === 'running').length} running: redefined from the log by fresh adapters`);
const problems = await findDisagreements(plane.store, hypervisor, paths.storage);
narrator.say(`  entities vs. infrastructure: ${problems.length === 0 ? 'they agree' : problems.join('; ')}`);

narrator.heading('Inventory');
narrator.say(await inventory(plane.store, hypervisor, paths.storage));
await plane.close();
narrator.say(`\nDone. The log, the volume files and the host agents' state stay in ${dataDir}.`);
