#!/usr/bin/env bash
# npm run prebuild: the addon for every architecture the package ships, into
#   prebuilds/linux-arm64/vfio-cdx.glibc.node   (cross-built with g++-aarch64-linux-gnu)
#   prebuilds/linux-x64/vfio-cdx.glibc.node
# node-gyp-build picks the one matching the running Node, so a user on either
# needs no compiler. Usage: scripts/prebuild.sh [arm64] [x64]  (default: both).
#
# Both are built against the running Node's headers (`--target` = this Node:
# without it, prebuildify --napi asks node-gyp for the newest Node it knows and
# downloads its headers). The addon uses Node-API only (NAPI_VERSION in
# binding.gyp), so one build loads on every Node line that has that version.
# arm64 goes first: prebuildify builds in build/, so the x64 build, done last,
# leaves build/Release usable by this machine's own Node.
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_nodedir=${npm_config_nodedir:-/usr}   # headers of the running Node; nothing is downloaded
export JOBS=${JOBS:-max}
target=$(node -p process.versions.node)
archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(arm64 x64)

for arch in arm64 x64; do
  [[ " ${archs[*]} " == *" $arch "* ]] || continue
  rm -rf "prebuilds/linux-$arch"
  start=$(date +%s)
  if [ "$arch" = arm64 ]; then
    # The host strip cannot read aarch64 objects: strip with the cross binutils.
    CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
      npx --no-install prebuildify --napi --strip --strip-bin aarch64-linux-gnu-strip \
      --arch arm64 --platform linux --tag-libc --target "$target"
    rm -rf build   # an arm64 build/Release would shadow every prebuild for this machine's Node
  else
    npx --no-install prebuildify --napi --strip --arch x64 --platform linux --tag-libc --target "$target"
  fi
  echo "prebuild: linux-$arch in $(( $(date +%s) - start ))s: $(ls "prebuilds/linux-$arch")"
done
