#!/usr/bin/env bash
# npm run test:kernel — the conformance suite against the real upstream
# vfio-cdx driver in a VM (scripts/vm), next to its mock twin, and a report of
# both outcomes per test. Any difference fails: where the kernel and the mock
# disagree, the mock is wrong.
#
#   fixed  vfio-cdx with the .detach_ioas fix, no IOMMU (no-IOMMU groups)
#          twin: mock profile 'noiommu'
#   stock  upstream 6.12 vfio-cdx with CONFIG_IOMMUFD=y: the probe fails
#          twin: mock 'noiommu-stock' (noiommu without the fix)
#
# Builds the kernels on first use (cached outside the clone, see scripts/vm/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_nodedir=/usr
variants=${*:-fixed stock}
# Results go under the clone and come back through run.sh --rw (the guest's
# view of the host root is a copy-on-write overlay whose writes vanish).
mkdir -p build/vm-results
out=$(mktemp -d "$PWD/build/vm-results/run-XXXXXX")
mocha=(node node_modules/mocha/bin/mocha.js dist/test/conformance --reporter json)
rc=0 total_same=0 total_diff=0
t_all=$(date +%s.%N)
for variant in $variants; do
  case $variant in fixed) twin=noiommu ;; stock) twin=noiommu-stock ;; *) echo "unknown variant $variant" >&2; exit 2 ;; esac
  t0=$(date +%s.%N)
  scripts/vm/build-kernel.sh "$variant" >/dev/null
  t1=$(date +%s.%N)
  VFIO_CDX_TEST_KERNEL=mock VFIO_CDX_TEST_PROFILE=$twin "${mocha[@]}" --reporter-option "output=$out/mock-$variant.json" \
    >/dev/null 2>&1 || true
  t2=$(date +%s.%N)
  set +e
  scripts/vm/run.sh --variant "$variant" --rw "$out" -- "${mocha[@]}" --reporter-option "output=$out/kernel-$variant.json" \
    >"$out/vm-$variant.log" 2>&1
  vmrc=$?
  set -e
  t3=$(date +%s.%N)
  grep -E '^(run.sh|build-kernel|vm):' "$out/vm-$variant.log" || true
  if [ ! -s "$out/kernel-$variant.json" ]; then
    echo "test:kernel: the VM run ($variant) produced no results (exit $vmrc); its log:" >&2
    tail -n 40 "$out/vm-$variant.log" >&2
    rc=1
    continue
  fi
  set +e
  node scripts/compare-results.js "$out/mock-$variant.json" "$out/kernel-$variant.json" "$variant" | tee "$out/compare-$variant.txt"
  crc=${PIPESTATUS[0]}
  set -e
  [ "$crc" = 0 ] || rc=1
  read -r same diff < <(tail -n 1 "$out/compare-$variant.txt" | awk '{print $1, $3}')
  total_same=$((total_same + same)) total_diff=$((total_diff + diff))
  printf 'test:kernel %s: kernel build/cache %.1f s, mock run %.1f s, VM run %.1f s\n' "$variant" \
    "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" "$(echo "$t3 - $t2" | bc)"
done
printf 'test:kernel: %.1f s in all; results in %s\n' "$(echo "$(date +%s.%N) - $t_all" | bc)" "$out"
echo "$total_same passed, $total_diff failed"
exit $rc
