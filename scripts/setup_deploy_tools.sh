#!/usr/bin/env bash
# Create (once) the venv with the validators for deploy/ (check-jsonschema, kubernetes-validate), pinned
# by deploy/requirements-tools.lock, and print its path on stdout (progress goes to stderr).
#
# It is separate from the application's environment so the validators' dependencies never shift
# Rasa's, and keyed by the lock's hash like scripts/setup_env.sh, so clones share it. Re-running is a no-op.
set -euo pipefail
cd "$(dirname "$0")/.."

LOCK=deploy/requirements-tools.lock
source scripts/python310.sh  # ENV_ROOT, find_python

lock_hash="$(sha256sum "$LOCK" | cut -c1-16)"
venv="$ENV_ROOT/deploy-tools-$lock_hash"

if [ ! -f "$venv/.complete" ]; then
  python="$(find_python)"
  if [ -z "$python" ]; then
    echo "error: Python 3.10 is needed for the deploy validators and none was found (see README.md)." >&2
    exit 1
  fi
  mkdir -p "$ENV_ROOT"
  exec 9>"$ENV_ROOT/.lock-deploy-tools-$lock_hash"
  flock 9  # another setup of the same lock finishes first
  if [ ! -f "$venv/.complete" ]; then
    echo "==> [1/2] creating $venv with $("$python" --version)" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    echo "==> [2/2] installing $LOCK" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$LOCK" >&2
    "$venv/bin/python" -m pip check >&2
    touch "$venv/.complete"
    echo "==> deploy validators ready" >&2
  fi
fi
echo "$venv"
