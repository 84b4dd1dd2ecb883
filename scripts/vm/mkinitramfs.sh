#!/usr/bin/env bash
# mkinitramfs.sh — build (or reuse) the VM's initramfs: busybox-static, the
# /init script (scripts/vm/guest/init) and the isa-debug-exit helper qexit.
# Everything else (node, the addon, tests) comes from the host root over 9p.
#
# Usage: scripts/vm/mkinitramfs.sh [OUT.cpio.gz]
# Without OUT the image is cached as
# ${VFIO_CDX_VM_CACHE:-/var/cache/vfio-cdx-vm}/initramfs-<hash>.cpio.gz, keyed by
# the init script, qexit.c, this script and the busybox version. Prints the
# image path on stdout.
set -euo pipefail

VM_NAME=mkinitramfs
# shellcheck source=scripts/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

vm_need_pkgs busybox-static cpio gcc libc6-dev

key=$(
	cd "$VM_REPO"
	sha256sum scripts/vm/mkinitramfs.sh scripts/vm/guest/init scripts/vm/guest/qexit.c
	echo "busybox-static $(dpkg-query -W -f='${Version}' busybox-static)"
	echo "gcc $(gcc -dumpfullversion)"
) 
out=${1:-$VM_CACHE/initramfs-$(vm_hash <<<"$key").cpio.gz}
if [ $# -eq 0 ] && [ -s "$out" ]; then
	echo "$out"
	exit 0
fi

t0=$(vm_now)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,tmp,host,root}
cp /bin/busybox "$stage/bin/busybox"
gcc -O2 -static -s -Wall -Wextra -Werror -o "$stage/bin/qexit" "$VM_REPO/scripts/vm/guest/qexit.c"
install -m 0755 "$VM_REPO/scripts/vm/guest/init" "$stage/init"
# /dev/console comes from the kernel's built-in default initramfs.
mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) |
	gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
if [ $# -eq 0 ]; then # keep the three newest cached images
	find "$VM_CACHE" -maxdepth 1 -name 'initramfs-*.cpio.gz' -printf '%T@ %p\n' | sort -rn |
		tail -n +4 | cut -d' ' -f2- | xargs -r rm -f
fi
vm_log "built $out ($(stat -c %s "$out") bytes) in $(vm_since "$t0") s"
echo "$out"
