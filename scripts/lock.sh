#!/usr/bin/env bash
# Regenerates package-lock.json so that `npm ci` accepts it on Linux x64 and arm64 (and on the
# other platforms npm knows): a lockfile written by `npm install` on one machine can lack other
# platforms' optional packages (@biomejs/cli-*, @swc/core-*, …), and `npm ci` elsewhere then
# refuses it ("Missing: … from lock file"). `npm install --package-lock-only` on top of the
# existing lockfile adds the missing entries without changing any resolved version; this
# script checks that, then proves `npm ci` on linux/x64 and linux/arm64 with dry runs.
#
# Run it after adding or upgrading packages, and commit package-lock.json:
#   scripts/lock.sh && git add package-lock.json && git commit -m "Lockfile for every platform"
set -euo pipefail
cd "$(dirname "$0")/.."

before="$(mktemp)"
trap 'rm -f "$before"' EXIT
cp package-lock.json "$before"

npm install --package-lock-only --ignore-scripts --no-audit --no-fund

# No package may have moved: only entries for other platforms may be added.
node - "$before" package-lock.json <<'JS'
const { readFileSync } = require('node:fs');
const [before, after] = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, 'utf8')).packages ?? {});
const moved = Object.entries(before)
  .filter(([key, pkg]) => key !== '' && after[key] && after[key].version !== pkg.version)
  .map(([key, pkg]) => `${key}: ${pkg.version} -> ${after[key].version}`);
const removed = Object.keys(before).filter((key) => !(key in after));
if (moved.length || removed.length) {
  console.error(`scripts/lock.sh: the lockfile changed more than platform entries:\n${[...moved, ...removed.map((k) => `${k}: removed`)].join('\n')}`);
  process.exit(1);
}
const added = Object.keys(after).filter((key) => !(key in before));
console.log(`package-lock.json: ${added.length} platform entries added, no version changed`);
JS

for cpu in x64 arm64; do
  npm ci --dry-run --ignore-scripts --no-audit --no-fund --os=linux --cpu="$cpu" >/dev/null
  echo "npm ci accepts package-lock.json on linux/$cpu"
done
