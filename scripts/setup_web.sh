#!/usr/bin/env bash
# Install the web chat widget's browser dependencies (socket.io-client) pinned by web/package-lock.json.
# Re-running is a no-op while the lock file is unchanged.
set -euo pipefail
cd "$(dirname "$0")/../web"

if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm is required for the web chat widget (Debian: apt-get install npm)" >&2
  exit 1
fi
stamp=node_modules/.lock-hash
want="$(sha256sum package-lock.json | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "==> installing the web widget's browser dependencies (npm ci)"
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
