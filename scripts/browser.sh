#!/usr/bin/env bash
# Installs Debian's headless Chromium for the dashboard's browser tests when it is missing.
# Playwright drives it (executable_path=/usr/bin/chromium); nothing downloads a browser of its own.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "browser.sh: chromium is missing and cannot be installed here (needs root and apt-get);" \
         "the browser tests will skip" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
