#!/usr/bin/env bash
# Installs what Parley needs on a fresh Debian machine with Node 20+ and root:
# the embedded speech engine's Debian packages, then the locked npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(libpocketsphinx3 libsphinxbase3 pocketsphinx-en-us ffmpeg)
missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "Installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node -e 'const [maj,min]=process.versions.node.split(".").map(Number); if (maj<20||(maj===20&&min<19)) { console.error("Parley needs Node 20.19 or newer, found "+process.version); process.exit(1) }'

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm 11.19 writes lockfiles without other platforms' optional packages and then refuses them
  # in `npm ci`; `npm install` installs the same locked versions (direct ones are exact).
  npm ci --no-audit --no-fund 2>/dev/null || npm install --no-audit --no-fund --no-save
fi
