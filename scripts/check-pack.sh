#!/usr/bin/env bash
# Packs the module with a prebuilt addon (prebuildify --napi --strip), installs
# the tarball in a scratch project with every compiler hidden, and runs the
# demo from it: what a user without a toolchain gets.
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_nodedir=/usr
rm -rf prebuilds
npm run prebuild
ls prebuilds/*/
tarball=$(npm pack --silent | tail -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work" "$tarball"' EXIT
mkdir "$work/bin"
# A PATH with node and npm but no compiler: the install must use the prebuild.
for tool in node npm sh bash env uname; do ln -s "$(command -v "$tool")" "$work/bin/$tool"; done
for tool in cc gcc g++ c++ make python3; do printf '#!/bin/sh\necho "no compiler here: %s" >&2; exit 1\n' "$tool" > "$work/bin/$tool"; chmod +x "$work/bin/$tool"; done
cp "$tarball" "$work/"
(
  cd "$work"
  echo '{ "name": "pack-check", "version": "1.0.0", "private": true }' > package.json
  PATH="$work/bin" npm install --no-audit --no-fund --offline "./$tarball" >/dev/null 2>&1 \
    || PATH="$work/bin" npm install --no-audit --no-fund "./$tarball"
  test ! -e node_modules/vfio-cdx/build || { echo "pack-check: the addon was compiled, not taken from prebuilds/"; exit 1; }
  PATH="$work/bin" node node_modules/vfio-cdx/dist/lib/cli.js demo --mock > demo.out
  head -n 8 demo.out
  PATH="$work/bin" node -e "
    const { CdxBus } = require('vfio-cdx'); const { MockKernel } = require('vfio-cdx/mock');
    const bus = new CdxBus({ kernel: MockKernel.fixture({ bound: true }) });
    const dev = bus.open('cdx-00:00'); const id = dev.regions[0].map().read32(0); dev.close();
    if (id !== 0xcd5e0000) throw new Error('bad ID ' + id.toString(16));
    console.log('pack-check: installed tarball without a compiler; ID register 0x' + id.toString(16));"
)
