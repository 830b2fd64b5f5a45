#!/usr/bin/env bash
# Checks the packages as people install them: packs @ordo/core, @ordo/adapters and @ordo/cli as `pnpm
# publish` would (workspace:* replaced by versions, publishConfig.exports without the
# workspace's @ordo/source condition), lints the tarballs with publint and
# @arethetypeswrong/cli, installs them with npm alone into a scratch project outside the
# workspace, and there type-checks (with a locally installed typescript) and runs:
#   - the first TypeScript block of README.md (the quick start) and of each package's README;
#   - a use of @ordo/core/testing;
#   - @ordo/adapters and @ordo/adapters/postgres without pg installed: importing works, and
#     opening a postgresLog made from a connection string fails with LOG_STORE_FAILED naming pg.
#   - `npx ordo info` and `npx ordo verify` from the installed @ordo/cli, on a file log.
# Needs the packages built first (`pnpm build`). Run by .ci/run; alone: `pnpm pack-check`.
#
# Why pnpm pack and not npm pack: npm pack keeps "@ordo/core": "workspace:*" in @ordo/adapters
# and ignores publishConfig.exports, so its tarball is not what a publish uploads and does not
# install. What is checked is that the published tarballs install with only Node and npm.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
PNPM="npx --yes pnpm@10.34.9"

scratch="$(mktemp -d "${TMPDIR:-/tmp}/ordo-pack-check-XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
case "$scratch/" in "$root"/*) echo "pack-check: the scratch project must be outside the workspace ($scratch)" >&2; exit 1 ;; esac
mkdir -p "$scratch/tarballs" "$scratch/project/src"

for package in core adapters cli; do
  if [[ ! -f "$root/packages/$package/dist/index.js" ]]; then
    echo "pack-check: packages/$package/dist is missing: run pnpm build first" >&2
    exit 1
  fi
  # publishConfig.exports must be exports less the workspace condition, entry for entry, so that
  # a subpath added to one and not the other fails here rather than on npm.
  node -e '
    const manifest = require(process.argv[1]);
    const strip = (entry) => Object.fromEntries(Object.entries(entry).filter(([key]) => key !== "@ordo/source"));
    const expected = JSON.stringify(Object.fromEntries(Object.entries(manifest.exports).map(([path, entry]) => [path, strip(entry)])));
    if (JSON.stringify(manifest.publishConfig?.exports) !== expected) { console.error(`pack-check: ${manifest.name}: publishConfig.exports is not exports without @ordo/source`); process.exit(1); }
  ' "$root/packages/$package/package.json"
  (cd "$root/packages/$package" && $PNPM pack --pack-destination "$scratch/tarballs" >/dev/null)
done
core_tarball="$(ls "$scratch"/tarballs/ordo-core-*.tgz)"
adapters_tarball="$(ls "$scratch"/tarballs/ordo-adapters-*.tgz)"
cli_tarball="$(ls "$scratch"/tarballs/ordo-cli-*.tgz)"

# publint prints "All good!" when it has nothing to report, suggestions included. attw uses the
# esm-only profile: the packages are ESM only (type: module, Node 20+), so node10 resolution and
# require() from CommonJS are not ways to load them; every other problem fails the check.
for tarball in "$core_tarball" "$adapters_tarball" "$cli_tarball"; do
  name="$(basename "$tarball")"
  publint_report="$("$root/node_modules/.bin/publint" run --strict "$tarball" 2>&1)" || { echo "$publint_report"; echo "pack-check: publint failed for $name" >&2; exit 1; }
  if ! grep -q 'All good!' <<<"$publint_report"; then
    echo "$publint_report"; echo "pack-check: publint reported something for $name" >&2; exit 1
  fi
  "$root/node_modules/.bin/attw" --profile esm-only --format table-flipped "$tarball" >"$scratch/attw.txt" 2>&1 || {
    cat "$scratch/attw.txt"; echo "pack-check: @arethetypeswrong/cli reported problems for $name" >&2; exit 1
  }
  # Neither tool flags a custom condition that points at unpublished sources, so check that
  # one directly, with what every package must carry for its npm page.
  manifest="$(tar -xzOf "$tarball" package/package.json)"
  if grep -q '@ordo/source' <<<"$manifest"; then echo "pack-check: $name: the @ordo/source condition leaked into the published package.json" >&2; exit 1; fi
  for field in repository keywords license; do
    node -e 'const m = JSON.parse(process.argv[1]); if (m[process.argv[2]] === undefined) process.exit(1)' "$manifest" "$field" || {
      echo "pack-check: $name: package.json has no $field" >&2; exit 1
    }
  done
  contents="$(tar -tzf "$tarball")"
  for file in package/README.md package/LICENSE; do
    grep -qx "$file" <<<"$contents" || { echo "pack-check: $name: $file is not in the tarball" >&2; exit 1; }
  done
  echo "pack-check: $name: publint and attw report nothing; no @ordo/source; README, LICENSE, repository, keywords present"
done

node_package_field() { node -e 'const p = require(process.argv[1]); console.log(process.argv[2].split(".").reduce((v, k) => v[k], p))' "$1" "$2"; }
zod_range="$(node_package_field "$root/packages/core/package.json" dependencies.zod)"
typescript_version="$(node_package_field "$root/node_modules/typescript/package.json" version)"
types_node_range="$(node_package_field "$root/package.json" devDependencies.@types/node)"

cd "$scratch/project"
cat >package.json <<'JSON'
{ "name": "ordo-pack-check", "private": true, "type": "module" }
JSON
cat >tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "lib": ["ES2023"],
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "types": ["node"],
    "strict": true,
    "skipLibCheck": false,
    "outDir": "out",
    "rootDir": "src"
  },
  "include": ["src"]
}
JSON
# Both tarballs in one install, so that @ordo/adapters' dependency on @ordo/core is met by the
# tarball and not looked up in the registry. pg is an optional peer dependency: npm leaves it out.
npm install --no-audit --no-fund --prefer-offline --loglevel=error \
  "$core_tarball" "$adapters_tarball" "$cli_tarball" "zod@$zod_range" "typescript@$typescript_version" "@types/node@$types_node_range" >/dev/null
if [[ -e node_modules/pg ]]; then echo "pack-check: pg was installed into the scratch project; the check needs it absent" >&2; exit 1; fi

# The first ```ts block of a README, as a file of the scratch project.
extract_quick_start() {
  node -e '
    const text = require("node:fs").readFileSync(process.argv[1], "utf8");
    const block = /```ts\n([\s\S]*?)```/.exec(text);
    if (block === null) { console.error(`no ts block in ${process.argv[1]}`); process.exit(1); }
    process.stdout.write(block[1]);
  ' "$1" >"$2"
}
extract_quick_start "$root/README.md" src/readme-quick-start.ts
extract_quick_start "$root/packages/core/README.md" src/core-readme.ts
extract_quick_start "$root/packages/adapters/README.md" src/adapters-readme.ts

cat >src/testing-helper.ts <<'TS'
import { z } from 'zod';
import { defineEntity, defineOperation } from '@ordo/core';
import { givenEntity, operationSpecification } from '@ordo/core/testing';

const Host = defineEntity('host', z.object({ name: z.string(), maintenance: z.boolean() }));
const hostEnterMaintenance = defineOperation({
  name: 'host.enterMaintenance',
  input: z.object({ hostId: z.string() }),
  plan: (tx, { hostId }) => void tx.update(Host, hostId, { maintenance: true }),
});
const spec = operationSpecification({ entities: [Host] });
await spec
  .given([givenEntity(Host, 'h1', { name: 'h1', maintenance: false })])
  .when(hostEnterMaintenance, { hostId: 'h1' })
  .thenCommits({ changes: [{ op: 'update', kind: 'host', id: 'h1', data: { maintenance: true } }] });
await spec.given().when(hostEnterMaintenance, { hostId: 'h9' }).thenFails('NOT_FOUND', { kind: 'host', id: 'h9' });
console.log('@ordo/core/testing: a specification passed');
TS

cat >src/without-pg.ts <<'TS'
import { createRequire } from 'node:module';
import { z } from 'zod';
import { defineEntity, isOrdoError, openStore } from '@ordo/core';
import * as adapters from '@ordo/adapters';
import { postgresLog } from '@ordo/adapters/postgres';

let pgFound = true;
try {
  createRequire(import.meta.url).resolve('pg');
} catch {
  pgFound = false;
}
if (pgFound) throw new Error('pg resolves in the scratch project: this check needs it absent');
if (typeof adapters.fileLog !== 'function') throw new Error('@ordo/adapters does not export fileLog');

const Host = defineEntity('host', z.object({ name: z.string() }));
// Port 9 (discard): no server is asked anything, since pg is loaded before the first connection.
const log = postgresLog({ connectionString: 'postgres://ordo@127.0.0.1:9/none', schema: 'ordo' });
const outcome = await openStore({ entities: [Host], log }).then(
  () => new Error('opening a postgresLog without pg succeeded'),
  (error: unknown) => error,
);
if (!isOrdoError(outcome, 'LOG_STORE_FAILED') || !/\bpg\b/.test(outcome.message)) {
  throw new Error(`expected LOG_STORE_FAILED naming pg, got ${String(outcome)}`, { cause: outcome });
}
console.log(`without pg: imports work; opening fails with ${outcome.code}: ${outcome.message}`);
TS

cat >src/cli-log.ts <<'TS'
import { z } from 'zod';
import { defineEntity, openStore } from '@ordo/core';
import { fileLog } from '@ordo/adapters/file';

const Host = defineEntity('host', z.object({ name: z.string() }));
const store = await openStore({ entities: [Host], log: fileLog({ dir: 'cli-log' }) });
await store.transact((tx) => ['h1', 'h2'].forEach((name) => tx.create(Host, { name })));
await store.close();
TS

./node_modules/.bin/tsc -p . || { echo "pack-check: the scratch project does not type-check" >&2; exit 1; }
for file in readme-quick-start core-readme adapters-readme testing-helper without-pg; do
  echo "pack-check: node out/$file.js"
  node "out/$file.js"
done
# The bin of @ordo/cli, as a user runs it in a project that installs it (no pg: a file log).
node out/cli-log.js
info="$(npx --no-install ordo info --log file:cli-log --json)"
node -e 'const info = JSON.parse(process.argv[1]); if (info.head !== 1 || info.entities.host !== 2) { console.error("unexpected ordo info:", info); process.exit(1); }' "$info"
npx --no-install ordo verify --log file:cli-log --quiet >/dev/null || { echo "pack-check: npx ordo verify failed" >&2; exit 1; }
echo "pack-check: npx ordo info and verify run from the installed @ordo/cli"
echo "pack-check: the packed packages install, type-check and run with Node and npm alone"
