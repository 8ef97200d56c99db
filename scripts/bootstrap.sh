#!/usr/bin/env bash
# Installs what Parley needs on a fresh Debian machine with Node 20+ and root:
# the embedded speech engine's Debian packages, Chromium for the web console's browser tests
# (they drive /usr/bin/chromium), then the locked npm dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(libpocketsphinx3 libsphinxbase3 pocketsphinx-en-us chromium espeak-ng ffmpeg)
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
  # The lockfile carries every platform's optional packages (scripts/lock.sh keeps it so).
  if ! npm ci --no-audit --no-fund; then
    echo "npm ci refused package-lock.json: regenerate it with scripts/lock.sh and commit it" >&2
    exit 1
  fi
fi
