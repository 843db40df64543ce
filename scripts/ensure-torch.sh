#!/usr/bin/env bash
# Run before the tests: interop/pytorch's tests train with PyTorch (torchrun on CPU, gloo). Installs
# Debian's python3-torch (PyTorch 1.13 with torchrun, for /usr/bin/python3) when no Python here
# has torch and numpy and this is a root shell with apt-get (as on a fresh build machine);
# otherwise says what to do. Never downloads wheels of its own.
set -u
has_torch() { [ -n "$1" ] && "$1" -c 'import torch, numpy' >/dev/null 2>&1; }
for python in "${PRIMER_EZ_PYTHON:-}" /usr/bin/python3 python3; do
  if has_torch "$python"; then
    exit 0
  fi
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-torch: installing Debian's python3-torch for the interop/pytorch tests (apt-get)"
  # Another apt-get may hold the lock (a shared machine): wait for it rather than fail.
  apt-get -o DPkg::Lock::Timeout=600 update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      python3-torch python3-numpy >/dev/null &&
    has_torch /usr/bin/python3 && exit 0
fi
echo "ensure-torch: no Python with torch and numpy; the interop/pytorch tests will be skipped (and fail under CI). Install them (apt-get install -y python3-torch) or set PRIMER_EZ_PYTHON." >&2
exit 0
