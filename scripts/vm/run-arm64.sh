#!/usr/bin/env bash
# run-arm64.sh — run one command inside the arm64 test VM: QEMU virt (TCG,
# GICv3 + ITS, optionally an SMMUv3), Linux 6.12 with the real CDX bus, cdx_msi.c
# and vfio-cdx, the simulated CDX controller in device-tree mode, and the
# official arm64 Node with the project's addon cross-built for arm64.
#
# Usage: scripts/vm/run-arm64.sh [options] [--] COMMAND [ARG...]
#
# The command runs as root in the repository (shared read-only over virtio-9p
# at the same path as on the host, with build/ a guest tmpfs that holds the
# arm64 addon), from the host's current directory, which must be inside the
# repository. COMMAND is looked up in the guest's PATH (/sysroot/bin: `node`).
# Its output is the console (run-arm64.sh's stdout); run-arm64.sh exits with
# its status (124 on timeout, 125 when the VM ended without one).
#
# Options:
#   --machine noiommu|smmuv3|smmuv3-no-dma-ranges   (default $VFIO_CDX_VM_MACHINE or noiommu)
#                          noiommu: no IOMMU, vfio.enable_unsafe_noiommu_mode=1;
#                          smmuv3: the devices behind QEMU's SMMUv3 (iommu-map + dma-ranges);
#                          smmuv3-no-dma-ranges: an SMMU, but a controller node without
#                          dma-ranges (noiommu mode on)
#   --timeout SEC          bound for the whole VM run (default $VFIO_CDX_VM_TIMEOUT or 900)
#   --env NAME[=VALUE]     pass one more variable to the command (repeatable)
#   --rw DIR               a host directory the guest writes through to (repeatable);
#                          it must be under the repository's build/ or outside the repository
#   --dev                  the incremental kernel (build-kernel.sh --dev arm64)
#   --kernel-dir DIR       the kernel (Image) in DIR
#   --keep                 keep the run dir (argv, env, status, dmesg.txt)
#   --quiet-kernel         loglevel=1 on the console (default: errors and worse)
#
# Environment of the command: VFIO_CDX_TEST_KERNEL=system,
# VFIO_CDX_TEST_VARIANT=arm64-MACHINE, VFIO_CDX_VM=1, VFIO_CDX_VM_ARCH=arm64,
# VFIO_CDX_VM_MACHINE, PATH=/sysroot/bin, HOME=TMPDIR=/tmp (a guest tmpfs), and
# from the host when set: every VFIO_CDX_*, CI, NODE_OPTIONS, NODE_DEBUG,
# NODE_ENV, FORCE_COLOR, NO_COLOR, DEBUG, LANG, LC_ALL, TZ.
set -euo pipefail

VM_NAME=run-arm64
# shellcheck source=scripts/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
}

machine=${VFIO_CDX_VM_MACHINE:-noiommu}
timeout_s=${VFIO_CDX_VM_TIMEOUT:-900}
dev='' kdir='' keep='' loglevel=4
extra_env=() rw_dirs=()
while [ $# -gt 0 ]; do
	case $1 in
	--machine) machine=$2; shift ;;
	--timeout) timeout_s=$2; shift ;;
	--env) extra_env+=("$2"); shift ;;
	--rw) rw_dirs+=("$(cd "$2" && pwd -P)"); shift ;;
	--dev) dev=1 ;;
	--kernel-dir) kdir=$2; shift ;;
	--keep) keep=1 ;;
	--quiet-kernel) loglevel=1 ;;
	-h | --help) usage ;;
	--) shift; break ;;
	-*) vm_log "unknown option $1"; usage ;;
	*) break ;;
	esac
	shift
done
case $machine in noiommu | smmuv3 | smmuv3-no-dma-ranges) ;; *) vm_die "unknown --machine $machine" ;; esac
[ $# -gt 0 ] || usage

vm_need_pkgs qemu-system-arm
repo=$(cd "$VM_REPO" && pwd -P)
cwd=$(pwd -P)
case $cwd/ in "$repo"/*) ;; *) vm_die "run from inside the repository ($repo): only it is shared with the guest" ;; esac

# --- kernel, DTB, sysroot, initramfs, addon (all cached; built on first use)
if [ -z "$kdir" ]; then kdir=$("$VM_DIR/build-kernel.sh" ${dev:+--dev} arm64 | tail -1); fi
[ -f "$kdir/Image" ] || vm_die "no kernel at $kdir/Image"
dtb=$("$VM_DIR/arm64-assets.sh" dtb "$machine")
sysroot=$("$VM_DIR/arm64-assets.sh" sysroot)
initrd=$("$VM_DIR/arm64-assets.sh" initramfs)
addon=$("$VM_DIR/arm64-assets.sh" addon)

mkdir -p "$VM_CACHE/runs"
find "$VM_CACHE/runs" -mindepth 1 -maxdepth 1 -mtime +1 -exec rm -rf {} + 2>/dev/null || true
rundir=$(mktemp -d "$VM_CACHE/runs/$(date +%Y%m%d-%H%M%S)-arm64-XXXX")
cp "$addon/vfio_cdx.node" "$rundir/vfio_cdx.node"

pass_names=(CI NODE_OPTIONS NODE_DEBUG NODE_ENV FORCE_COLOR NO_COLOR DEBUG LANG LC_ALL TZ)
while IFS= read -r name; do pass_names+=("$name"); done < <(compgen -e | grep '^VFIO_CDX_' || true)
{
	for name in "${pass_names[@]}"; do
		if [ -n "${!name+x}" ]; then printf '%s=%s\0' "$name" "${!name}"; fi
	done
	printf '%s\0' VFIO_CDX_TEST_KERNEL=system "VFIO_CDX_TEST_VARIANT=arm64-$machine" VFIO_CDX_VM=1 \
		VFIO_CDX_VM_ARCH=arm64 "VFIO_CDX_VM_MACHINE=$machine" PATH=/sysroot/bin HOME=/tmp TMPDIR=/tmp
	for kv in "${extra_env[@]}"; do # --env last: it overrides all of the above
		name=${kv%%=*}
		if [ "$name" = "$kv" ]; then printf '%s=%s\0' "$name" "${!name-}"; else printf '%s\0' "$kv"; fi
	done
} >"$rundir/env"
printf '%s\0' "$@" >"$rundir/argv"
printf '%s' "$cwd" >"$rundir/cwd"

for d in "$rundir" "$repo" "${rw_dirs[@]}"; do
	case $d in *[[:space:],]*) vm_die "paths shared with the guest cannot contain blanks or commas: $d" ;; esac
done
rw_list=
for d in "${rw_dirs[@]}"; do
	case $d/ in "$repo"/build/*) ;; "$repo"/*) vm_die "--rw $d: inside the repository only build/ is writable" ;; esac
	rw_list+=${rw_list:+,}$d
done

append="console=ttyAMA0 panic=-1 oops=panic quiet loglevel=$loglevel rdinit=/init"
append+=" vmtest.repo=$repo vmtest.run=$rundir"
[ -n "$rw_list" ] && append+=" vmtest.rw=$rw_list"
[ "$machine" != smmuv3 ] && append+=" vfio.enable_unsafe_noiommu_mode=1"
case $machine in noiommu) mopts=virt,gic-version=3,its=on ;; *) mopts=virt,gic-version=3,its=on,iommu=smmuv3 ;; esac
# shellcheck disable=SC2054 # commas inside QEMU option values
qemu=(qemu-system-aarch64 -M "$mopts" -accel tcg -cpu cortex-a57 -m 2G -smp 1 -nographic -no-reboot
	-kernel "$kdir/Image" -dtb "$dtb" -initrd "$initrd" -append "$append" -nic none
	-fsdev "local,id=sysroot,path=$sysroot,security_model=none,readonly=on"
	-device virtio-9p-device,fsdev=sysroot,mount_tag=sysroot
	-fsdev "local,id=repo,path=$repo,security_model=none,readonly=on,multidevs=remap"
	-device virtio-9p-device,fsdev=repo,mount_tag=repo
	-fsdev "local,id=vmrun,path=$rundir,security_model=none"
	-device virtio-9p-device,fsdev=vmrun,mount_tag=vmrun)
for i in "${!rw_dirs[@]}"; do
	qemu+=(-fsdev "local,id=rw$i,path=${rw_dirs[$i]},security_model=none"
		-device "virtio-9p-device,fsdev=rw$i,mount_tag=rw$i")
done
# shellcheck disable=SC2206
qemu+=(${VFIO_CDX_VM_QEMU_ARGS:-})

vm_log "machine $machine, kernel $kdir, timeout ${timeout_s}s, run dir $rundir"
vm_boot_and_exit "$rundir" "$timeout_s" "$keep" "" "argv, env, status, dmesg.txt"
