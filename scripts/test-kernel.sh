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
#   arm64-noiommu  arm64 QEMU virt with the GICv3 ITS, no IOMMU: no-IOMMU groups,
#          real LPIs through cdx_msi.c, rescan; arm64 Node and the arm64 addon
#          twin: mock 'noiommu'
#   arm64-smmuv3   the same kernel on a machine with an SMMUv3, the controller
#          node with iommu-map and dma-ranges: real IOMMU groups, type1 containers,
#          the cdev/iommufd path, device DMA through the SMMU's page tables
#          twin: mock 'cdev' (IOMMUFD=y, vfio-cdx with .detach_ioas)
#   arm64-smmuv3-no-dma-ranges   an SMMUv3, but the controller node has no
#          dma-ranges: cdx_dma_configure() never reaches the IOMMU, so the devices
#          get no-IOMMU groups (noiommu mode on)
#          twin: mock 'smmu-no-dma-ranges' (cdev with dtDmaRanges: false)
#
# Usage: scripts/test-kernel.sh [VARIANT...]   (default: all five)
# VFIO_CDX_VM_DEV=1 uses the incremental kernels (build-kernel.sh --dev) while iterating on kernel/.
# Builds the kernels on first use (cached outside the clone, see scripts/vm/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export npm_config_nodedir=/usr
variants=${*:-fixed stock arm64-noiommu arm64-smmuv3 arm64-smmuv3-no-dma-ranges}
# Results go under the clone and come back through run.sh --rw (the guest's
# view of the host root is a copy-on-write overlay whose writes vanish).
mkdir -p build/vm-results
out=$(mktemp -d "$PWD/build/vm-results/run-XXXXXX")
mocha=(node node_modules/mocha/bin/mocha.js dist/test/conformance --reporter json)
rc=0 total_same=0 total_diff=0
t_all=$(date +%s.%N)
for variant in $variants; do
  rescan=none
  case $variant in
  fixed) twin=noiommu kernel=fixed ;;
  stock) twin=noiommu-stock kernel=stock ;;
  arm64-noiommu) twin=noiommu kernel=arm64 rescan=dt ;;
  arm64-smmuv3) twin=cdev kernel=arm64 rescan=dt ;;
  arm64-smmuv3-no-dma-ranges) twin=smmu-no-dma-ranges kernel=arm64 rescan=dt ;;
  *) echo "unknown variant $variant" >&2; exit 2 ;;
  esac
  t0=$(date +%s.%N)
  dev=${VFIO_CDX_VM_DEV:+--dev}
  scripts/vm/build-kernel.sh $dev "$kernel" >/dev/null
  t1=$(date +%s.%N)
  VFIO_CDX_TEST_KERNEL=mock VFIO_CDX_TEST_PROFILE=$twin VFIO_CDX_TEST_RESCAN=$rescan "${mocha[@]}" \
    --reporter-option "output=$out/mock-$variant.json" >/dev/null 2>&1 || true
  t2=$(date +%s.%N)
  set +e
  if [ "$kernel" = arm64 ]; then
    # the arm64 guest runs the official arm64 Node from the sysroot (PATH)
    scripts/vm/run-arm64.sh $dev --machine "${variant#arm64-}" --rw "$out" -- node "${mocha[@]:1}" \
      --reporter-option "output=$out/kernel-$variant.json" >"$out/vm-$variant.log" 2>&1
  else
    scripts/vm/run.sh $dev --variant "$variant" --rw "$out" -- "${mocha[@]}" --reporter-option "output=$out/kernel-$variant.json" \
      >"$out/vm-$variant.log" 2>&1
  fi
  vmrc=$?
  set -e
  t3=$(date +%s.%N)
  grep -E '^(run.sh|run-arm64|arm64-assets|build-kernel|vm):' "$out/vm-$variant.log" || true
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
  printf 'test:kernel %s (twin: mock %s): kernel build/cache %.1f s, mock run %.1f s, VM run %.1f s\n' "$variant" "$twin" \
    "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" "$(echo "$t3 - $t2" | bc)"
done
printf 'test:kernel: %.1f s in all; results in %s\n' "$(echo "$(date +%s.%N) - $t_all" | bc)" "$out"
echo "$total_same passed, $total_diff failed"
exit $rc
