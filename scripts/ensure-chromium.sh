#!/usr/bin/env bash
# Run before the tests: backend-browser's browser suite drives Debian's Chromium headless, and the
# webgpu tests (Node: Dawn, the npm package `webgpu`) need the Vulkan loader (libvulkan1) and the
# software Vulkan driver SwiftShader that chromium-common ships (vk_swiftshader_icd.json). Installs
# what is missing when this is a root shell with apt-get (as on a fresh build machine); otherwise
# says what to do. Never downloads a browser build of its own.
set -u
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
icd=/usr/lib/chromium/vk_swiftshader_icd.json
has_vulkan() { ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 ' || [ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] || [ -e /usr/lib/aarch64-linux-gnu/libvulkan.so.1 ]; }
missing=()
[ -x "$chromium" ] || missing+=(chromium)
[ -e "$icd" ] || missing+=(chromium-common)
has_vulkan || missing+=(libvulkan1)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing ${missing[*]} for the browser and webgpu tests (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null && exit 0
fi
echo "ensure-chromium: missing ${missing[*]}; the browser and webgpu tests will fail. Install them (apt-get install -y ${missing[*]}) or set CHROMIUM_PATH." >&2
exit 0
