#!/usr/bin/env bash
# Run before the tests: backend-webgl's browser suite drives Debian's Chromium headless. Installs
# it when it is missing and this is a root shell with apt-get (as on a fresh build machine);
# otherwise says what to do. Never downloads a browser build of its own.
set -u
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing Debian's chromium for the browser tests (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && exit 0
fi
echo "ensure-chromium: no Chromium at $chromium; the browser tests will fail. Install it (apt-get install -y chromium) or set CHROMIUM_PATH." >&2
exit 0
