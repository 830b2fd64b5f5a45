import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createContext, formatRow, tableHeader, type BenchResult, type BenchSuite } from './harness.js';

// `pnpm bench` runs every suite in suites/ (or those named in ORDO_BENCH_ONLY), prints one
// table, and writes { results: [...] } to ORDO_BENCH_JSON when that variable names a file.
const suitesDir = join(dirname(fileURLToPath(import.meta.url)), 'suites');
const only = process.env.ORDO_BENCH_ONLY?.split(',').map((name) => name.trim()).filter(Boolean);
const scale = process.env.ORDO_BENCH_QUICK === '1' ? 0.2 : 1;

const suites: BenchSuite[] = [];
for (const file of readdirSync(suitesDir).filter((name) => name.endsWith('.ts')).sort()) {
  const loaded = (await import(pathToFileURL(join(suitesDir, file)).href)) as { default: BenchSuite };
  if (only === undefined || only.includes(loaded.default.name)) suites.push(loaded.default);
}

const results: BenchResult[] = [];
const { context, cleanup } = createContext(results, scale);
let failed = false;
try {
  for (const suite of suites) {
    context.log(`# ${suite.name}`);
    try {
      await suite.run(context);
    } catch (error) {
      failed = true;
      context.log(`suite ${suite.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }
} finally {
  cleanup();
}

process.stdout.write(`\n${tableHeader}\n${results.map(formatRow).join('\n')}\n`);
const jsonPath = process.env.ORDO_BENCH_JSON;
if (jsonPath) writeFileSync(jsonPath, `${JSON.stringify({ results }, null, 2)}\n`);
process.exit(failed ? 1 : 0);
