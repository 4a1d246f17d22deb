#!/usr/bin/env bash
# Headless Chromium and a Chinese font for the browser tests (Debian packages; Playwright's own
# browser download does not work here). Needs root, as in CI; a no-op once installed.
set -euo pipefail
FONT=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
if command -v chromium >/dev/null 2>&1 && [ -f "$FONT" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "warning: chromium is missing and installing it needs root; the browser tests will try again" >&2
  exit 0
fi
echo "==> installing chromium and a Chinese font for the browser tests (apt)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q chromium fonts-wqy-microhei >/dev/null
