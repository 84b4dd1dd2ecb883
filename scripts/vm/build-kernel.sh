#!/usr/bin/env bash
# build-kernel.sh — build (or reuse) a Linux 6.12 kernel of the VM tier: the
# real drivers/cdx and drivers/vfio/cdx plus our simulated CDX controller.
#
# Usage: scripts/vm/build-kernel.sh [--dev] fixed|stock|arm64|all
#
#   fixed  x86_64: vfio-cdx with the .detach_ioas fix, IOMMUFD=y (binding works)
#   stock  x86_64: unpatched 6.12 vfio-cdx, IOMMUFD=y (probe fails with EINVAL:
#          the upstream bug a real distro kernel has)
#   arm64  arm64 (QEMU virt, GICv3 ITS, SMMUv3 driver): the .detach_ioas fix,
#          IOMMUFD=y; cross-built with aarch64-linux-gnu-gcc (Image)
#   all    every variant, one after the other (2 cores: parallel builds are not faster)
#
# Default (clean recipe): the result is cached in
# ${VFIO_CDX_VM_CACHE:-/var/cache/vfio-cdx-vm}/<variant>-<hash>/, keyed by a
# sha256 of every input (kernel source package version, compiler, patches,
# Kconfig fragment, sim source, generated header, fixture, these scripts). A
# cache miss untars a fresh tree into ${VFIO_CDX_VM_WORK:-/var/tmp/vfio-cdx-vm-build}/<variant>/
# and builds it from scratch.
#
# --dev: incremental build in that work tree (seconds after a sim edit), for
# iterating on kernel/; the result goes to <work>/<variant>/dev-out/, never to
# the cache. run.sh --dev uses it.
#
# Prints the artifact directory on stdout (one line per variant); progress and
# the time taken go to stderr. The directory holds vmlinux (PVH-bootable),
# bzImage, config, System.map, headers/include (make headers_install) and
# build-info.
set -euo pipefail

VM_NAME=build-kernel
# shellcheck source=scripts/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

JOBS=${VFIO_CDX_VM_JOBS:-$(nproc)}
SIM_SRC=kernel/cdx-sim/cdx_sim.c
FIXTURE=fixtures/cdx-test-devices.json
# what the build needs, plus what running the VM needs (one apt-get for all)
BUILD_PKGS="$VM_SRC_PKG build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils patch rsync"
ARCH_PKGS_x86_64="qemu-system-x86 busybox-static"
ARCH_PKGS_arm64="gcc-aarch64-linux-gnu qemu-system-arm device-tree-compiler"

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
}

dev=
variants=()
while [ $# -gt 0 ]; do
	case $1 in
	--dev) dev=1 ;;
	-h | --help) usage ;;
	fixed | stock | arm64) variants+=("$1") ;;
	all) variants+=(fixed stock arm64) ;;
	*) usage ;;
	esac
	shift
done
[ ${#variants[@]} -gt 0 ] || usage

patches_for() {
	echo kernel/patches/cdx-kconfig.patch
	echo kernel/patches/cdx-sim-intree.patch
	if [ "$1" != stock ]; then echo kernel/patches/vfio-cdx-detach-ioas.patch; fi
}

# Per-variant build settings: ARCH, CROSS, FRAGMENT, IMAGE (make target and path).
set_variant() {
	case $1 in
	arm64)
		ARCH=arm64 CROSS=aarch64-linux-gnu- FRAGMENT=kernel/config/cdx-vm-arm64.config
		IMAGE_TARGET=Image IMAGE_PATH=arch/arm64/boot/Image
		;;
	*)
		ARCH=x86_64 CROSS='' FRAGMENT=kernel/config/cdx-vm.config
		IMAGE_TARGET=bzImage IMAGE_PATH=arch/x86/boot/bzImage
		;;
	esac
}

pkgs_for() {
	local v=ARCH_PKGS_$ARCH
	echo "$BUILD_PKGS ${!v}"
}

kmake() { make ARCH="$ARCH" ${CROSS:+CROSS_COMPILE=$CROSS} "$@"; }

# Generate the sim's device table into $1.
gen_header() {
	node "$VM_REPO/scripts/vm/gen-sim-header.js" "$VM_REPO/$FIXTURE" "$1"
}

# The cache key: everything that goes into the kernel, with repo-relative
# paths so that every clone of the same commit gets the same key.
input_manifest() {
	local variant=$1 hdr=$2
	echo "variant $variant"
	echo "source $VM_SRC_PKG $(dpkg-query -W -f='${Version}' "$VM_SRC_PKG")"
	echo "gcc $("${CROSS}gcc" -dumpfullversion) $("${CROSS}gcc" -dumpmachine)"
	(
		cd "$VM_REPO"
		# shellcheck disable=SC2046
		# (lib.sh is left out: logging, package and lock helpers only)
		sha256sum scripts/vm/build-kernel.sh scripts/vm/gen-sim-header.js \
			"$FIXTURE" "$FRAGMENT" "$SIM_SRC" $(patches_for "$variant")
	)
	echo "$(sha256sum <"$hdr" | cut -d' ' -f1)  (generated) cdx_sim_devices.h"
}

# Fresh source tree for $1 in $2 (removed first), patched.
prepare_tree() {
	local variant=$1 tree=$2 p
	rm -rf "$tree"
	mkdir -p "$tree"
	vm_log "$variant: unpacking $VM_SRC_TAR"
	tar -xf "$VM_SRC_TAR" -C "$tree" --strip-components=1
	for p in $(patches_for "$variant"); do
		vm_log "$variant: applying $p"
		patch -d "$tree" -p1 --batch --forward --quiet <"$VM_REPO/$p" >&2
	done
}

# Copy the sim source and its header into the tree, keeping mtimes when the
# content did not change (so an incremental build does not recompile).
install_sim() {
	local tree=$1 hdr=$2 dst=$1/drivers/cdx/controller
	cmp -s "$VM_REPO/$SIM_SRC" "$dst/cdx_sim.c" || cp "$VM_REPO/$SIM_SRC" "$dst/cdx_sim.c"
	cmp -s "$hdr" "$dst/cdx_sim_devices.h" || cp "$hdr" "$dst/cdx_sim_devices.h"
}

# tinyconfig + fragment + olddefconfig, then check that every =y landed.
configure_tree() {
	local variant=$1 tree=$2 log=$3 line missing=()
	vm_log "$variant: tinyconfig + $FRAGMENT"
	(
		cd "$tree"
		kmake tinyconfig
		ARCH=$ARCH scripts/kconfig/merge_config.sh -m .config "$VM_REPO/$FRAGMENT"
		kmake olddefconfig
	) >>"$log" 2>&1 || { tail -30 "$log" >&2; vm_die "$variant: configuration failed (log: $log)"; }
	while read -r line; do
		grep -qx "$line" "$tree/.config" || missing+=("$line")
	done < <(grep -E '^CONFIG_[A-Z0-9_]+=y$' "$VM_REPO/$FRAGMENT")
	[ ${#missing[@]} -eq 0 ] || vm_die "$variant: not in .config after olddefconfig: ${missing[*]}"
}

# make, then collect the artifacts into $4.
make_tree() {
	local variant=$1 tree=$2 log=$3 out=$4 t0
	t0=$(vm_now)
	vm_log "$variant: make -j$JOBS $IMAGE_TARGET (log: $log)"
	(cd "$tree" && nice -n 10 make ARCH="$ARCH" ${CROSS:+CROSS_COMPILE=$CROSS} -j"$JOBS" "$IMAGE_TARGET") >>"$log" 2>&1 ||
		{ tail -40 "$log" >&2; vm_die "$variant: kernel build failed (log: $log)"; }
	vm_log "$variant: make took $(vm_since "$t0") s"
	rm -rf "$out"
	mkdir -p "$out"
	(cd "$tree" && kmake headers_install INSTALL_HDR_PATH="$out/headers") >>"$log" 2>&1 ||
		{ tail -20 "$log" >&2; vm_die "$variant: headers_install failed (log: $log)"; }
	cp "$tree/$IMAGE_PATH" "$tree/System.map" "$out/"
	# x86: the PVH-bootable vmlinux too (QEMU boots it directly)
	if [ "$ARCH" = x86_64 ]; then cp "$tree/vmlinux" "$out/"; fi
	cp "$tree/.config" "$out/config"
}

build_clean() {
	local variant=$1 hdr=$2 hash=$3 manifest=$4
	local out=$VM_CACHE/$variant-$hash tree=$VM_WORK/$variant/linux log=$VM_WORK/$variant/build.log t0
	if [ -f "$out/.complete" ]; then
		echo "$out"
		return 0
	fi
	t0=$(vm_now)
	mkdir -p "$VM_WORK/$variant"
	: >"$log"
	prepare_tree "$variant" "$tree"
	install_sim "$tree" "$hdr"
	configure_tree "$variant" "$tree" "$log"
	# stamps that let --dev reuse this tree incrementally (also after a failed make)
	prep_stamp "$variant" >"$tree/.vm-prep-stamp"
	sha256sum <"$VM_REPO/$FRAGMENT" >"$tree/.vm-config-stamp"
	make_tree "$variant" "$tree" "$log" "$out.tmp"
	{
		echo "$manifest"
		echo "built $(date -u +%FT%TZ) in $(vm_since "$t0") s, make -j$JOBS"
	} >"$out.tmp/build-info"
	cp "$log" "$out.tmp/build.log"
	touch "$out.tmp/.complete"
	rm -rf "$out"
	mv "$out.tmp" "$out"
	# keep the two newest builds of this variant
	find "$VM_CACHE" -maxdepth 1 -name "$variant-*" -type d -printf '%T@ %p\n' | sort -rn |
		tail -n +3 | cut -d' ' -f2- | xargs -r rm -rf
	vm_log "$variant: built in $(vm_since "$t0") s -> $out"
	echo "$out"
}

prep_stamp() {
	local variant=$1
	echo "$VM_SRC_PKG $(dpkg-query -W -f='${Version}' "$VM_SRC_PKG")"
	# shellcheck disable=SC2046
	(cd "$VM_REPO" && sha256sum $(patches_for "$variant"))
}

build_dev() {
	local variant=$1 hdr=$2 manifest=$3
	local tree=$VM_WORK/$variant/linux log=$VM_WORK/$variant/dev-build.log out=$VM_WORK/$variant/dev-out t0
	t0=$(vm_now)
	mkdir -p "$VM_WORK/$variant"
	: >"$log"
	if [ "$(cat "$tree/.vm-prep-stamp" 2>/dev/null)" != "$(prep_stamp "$variant")" ]; then
		prepare_tree "$variant" "$tree"
		rm -f "$tree/.vm-config-stamp"
		prep_stamp "$variant" >"$tree/.vm-prep-stamp"
	fi
	install_sim "$tree" "$hdr"
	if [ "$(cat "$tree/.vm-config-stamp" 2>/dev/null)" != "$(sha256sum <"$VM_REPO/$FRAGMENT")" ]; then
		configure_tree "$variant" "$tree" "$log"
		sha256sum <"$VM_REPO/$FRAGMENT" >"$tree/.vm-config-stamp"
	fi
	make_tree "$variant" "$tree" "$log" "$out"
	{
		echo "$manifest"
		echo "dev build $(date -u +%FT%TZ) in $(vm_since "$t0") s (incremental)"
	} >"$out/build-info"
	vm_log "$variant: incremental build in $(vm_since "$t0") s -> $out"
	echo "$out"
}

build_variant() {
	local variant=$1 t0 hdr=$TMP_DIR/cdx_sim_devices.h manifest hash
	t0=$(vm_now)
	set_variant "$variant"
	# shellcheck disable=SC2046 # the compiler is part of the cache key: install it first
	vm_need_pkgs $(pkgs_for)
	gen_header "$hdr"
	manifest=$(input_manifest "$variant" "$hdr")
	hash=$(vm_hash <<<"$manifest")
	if [ -n "$dev" ]; then
		vm_with_lock "$VM_WORK/.lock-$variant" build_dev "$variant" "$hdr" "$manifest"
		return
	fi
	if [ -f "$VM_CACHE/$variant-$hash/.complete" ]; then
		vm_log "$variant: cache hit ($(vm_since "$t0") s) $VM_CACHE/$variant-$hash"
		echo "$VM_CACHE/$variant-$hash"
		return
	fi
	vm_log "$variant: cache miss ($variant-$hash), building (4-6 min on 2 cores)"
	mkdir -p "$VM_CACHE"
	vm_with_lock "$VM_WORK/.lock-$variant" build_clean "$variant" "$hdr" "$hash" "$manifest"
}

command -v node >/dev/null || vm_die "node is needed (scripts/vm/gen-sim-header.js)"
TMP_DIR=$(mktemp -d)
trap 'rm -rf "$TMP_DIR"' EXIT
for v in "${variants[@]}"; do
	build_variant "$v"
done
