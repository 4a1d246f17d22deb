#!/usr/bin/env bash
# Create (once) the Python 3.10 environment pinned by requirements.lock and point .venv at it.
#
# The environment lives outside the clone, keyed by the lock file's hash, so fresh clones
# (CI, new work trees) reuse it instead of installing 7 GB again. Re-running is a no-op.
set -euo pipefail
cd "$(dirname "$0")/.."

LOCK=requirements.lock
source scripts/python310.sh  # ENV_ROOT, find_python

lock_hash="$(sha256sum "$LOCK" | cut -c1-16)"
env_dir="$ENV_ROOT/env-$lock_hash"

if [ -f "$env_dir/.complete" ]; then
  ln -sfn "$env_dir" .venv
  exit 0
fi

python="$(find_python)"
if [ -z "$python" ]; then
  cat >&2 <<'MSG'
error: Python 3.10 is required (Rasa 3.6 does not run on 3.11+), and none was found.
       Install it, e.g. `pyenv install 3.10.13`, or put a python3.10 on PATH, then run `make setup` again.
MSG
  exit 1
fi

mkdir -p "$ENV_ROOT"
exec 9>"$ENV_ROOT/.lock-$lock_hash"
echo "==> waiting for the environment lock (another setup may be running)…"
flock 9
if [ ! -f "$env_dir/.complete" ]; then
  echo "==> [1/3] creating $env_dir with $("$python" --version)"
  rm -rf "$env_dir"
  "$python" -m venv "$env_dir"
  "$env_dir/bin/python" -m pip install --quiet --disable-pip-version-check "pip==24.0"
  echo "==> [2/3] installing the pinned dependencies (first time only: several minutes, ~7 GB)"
  start=$(date +%s)
  "$env_dir/bin/python" -m pip install --disable-pip-version-check --progress-bar on \
    --no-deps -r "$LOCK"
  "$env_dir/bin/python" -m pip check
  echo "==> [3/3] installed in $(( $(date +%s) - start )) s"
  touch "$env_dir/.complete"
fi
ln -sfn "$env_dir" .venv
echo "==> environment ready: .venv -> $env_dir"
