#!/usr/bin/env bash
# smoke.sh — prove the VM tier works: for each kernel variant, boot the VM and
# run the static C smoke check (scripts/vm/smoke/cdxsmoke.c) against the real
# vfio-cdx driver, then the host's node (scripts/vm/smoke/node-smoke.js).
#
# Usage: scripts/vm/smoke.sh [fixed|stock|all]   (default: all)
#
# Builds the kernels on first use (about 4 min each on 2 cores, then cached).
# Exits 0 when every variant passed; prints the times taken.
set -euo pipefail

VM_NAME=smoke
# shellcheck source=scripts/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case ${1:-all} in
all) variants=(fixed stock) ;;
fixed | stock) variants=("$1") ;;
*) echo "usage: $0 [fixed|stock|all]" >&2; exit 2 ;;
esac

vm_need_pkgs gcc libc6-dev

# cdxsmoke, static, against the uapi headers of that kernel build.
build_smoke() {
	local kdir=$1 out
	out=$VM_CACHE/smoke/cdxsmoke-$(cat "$VM_REPO/scripts/vm/smoke/cdxsmoke.c" "$kdir/headers/include/linux/vfio.h" | vm_hash)
	if [ ! -x "$out" ]; then
		mkdir -p "$(dirname "$out")"
		gcc -O2 -static -Wall -Wextra -Werror -I"$kdir/headers/include" \
			-o "$out.tmp" "$VM_REPO/scripts/vm/smoke/cdxsmoke.c"
		mv "$out.tmp" "$out"
	fi
	echo "$out"
}

summary=()
rc_all=0
for v in "${variants[@]}"; do
	t0=$(vm_now)
	kdir=$("$VM_DIR/build-kernel.sh" "$v" | tail -1)
	tk=$(vm_since "$t0")
	smoke=$(build_smoke "$kdir")
	t1=$(vm_now)
	set +e
	"$VM_DIR/run.sh" --variant "$v" --timeout 300 -- \
		bash -c "$smoke $v; a=\$?; node $VM_REPO/scripts/vm/smoke/node-smoke.js; b=\$?; exit \$((a | b))"
	rc=$?
	set -e
	tv=$(vm_since "$t1")
	if [ $rc -eq 0 ]; then res=PASS; else res="FAIL ($rc)"; rc_all=1; fi
	summary+=("$(printf '%-6s %-9s kernel %6s s   VM boot+smoke %5s s' "$v" "$res" "$tk" "$tv")")
done
echo
echo "smoke summary:"
printf '  %s\n' "${summary[@]}"
exit $rc_all
