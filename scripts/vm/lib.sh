# lib.sh — shared helpers of the VM scripts (sourced, not run).
# shellcheck shell=bash disable=SC2034
# (SC2034: the variables below are used by the scripts that source this)

# a failing command inside $(...) fails the script too
shopt -s inherit_errexit

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_REPO=$(cd "$VM_DIR/../.." && pwd)
VM_CACHE=${VFIO_CDX_VM_CACHE:-/var/cache/vfio-cdx-vm}
VM_WORK=${VFIO_CDX_VM_WORK:-/var/tmp/vfio-cdx-vm-build}
VM_SRC_PKG=linux-source-6.12
VM_SRC_TAR=/usr/src/linux-source-6.12.tar.xz
VM_NAME=${VM_NAME:-vm}

vm_log() { printf '%s: %s\n' "$VM_NAME" "$*" >&2; }
vm_die() { vm_log "error: $*"; exit 1; }

# Seconds since the epoch, with fractions.
vm_now() { date +%s.%N; }
# Seconds elapsed since $1 (from vm_now), one decimal.
vm_since() { awk -v a="$1" -v b="$(vm_now)" 'BEGIN { printf "%.1f", b - a }'; }

_vm_apt_updated=
# Install the Debian packages among "$@" that are missing (dpkg checked first).
vm_need_pkgs() {
	local missing=() p
	for p in "$@"; do
		if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
			missing+=("$p")
		fi
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" = 0 ] || vm_die "missing packages (need root to install): ${missing[*]}"
	vm_log "installing ${missing[*]}"
	# One apt at a time among the project's scripts (the same lock as scripts/lib/prebuilds.sh):
	# apt-get fails at once on a held lock, and .ci/run builds kernels beside other stages.
	if [ -z "$_vm_apt_updated" ]; then
		flock /tmp/vfio-cdx-apt.lock apt-get update -qq >&2 || vm_die "apt-get update failed"
		_vm_apt_updated=1
	fi
	flock /tmp/vfio-cdx-apt.lock env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
		vm_die "apt-get install ${missing[*]} failed"
}

# sha256 (first 16 hex digits) of stdin.
vm_hash() { sha256sum | cut -c1-16; }

# Run "$@" holding an exclusive lock on file $1 (other args: the command).
vm_with_lock() {
	local lock=$1
	shift
	mkdir -p "$(dirname "$lock")"
	(
		flock 9
		"$@"
	) 9>"$lock"
}

# vm_boot_and_exit RUNDIR TIMEOUT KEEP SHELL WHAT: the end of run.sh and run-arm64.sh. Runs the
# QEMU command line in the caller's array `qemu` under `timeout` (in the foreground with the
# terminal when SHELL is non-empty: an interactive guest shell), then says how the guest command
# ended and exits with its status: 124 on timeout, 125 when the guest left no status (a kernel
# panic or oops), else the command's own. RUNDIR is removed after a success unless KEEP is
# non-empty; WHAT names what it holds, for the message that says it was kept.
vm_boot_and_exit() {
	local rundir=$1 timeout_s=$2 keep=$3 shell=$4 what=$5 t0 qrc wall status
	t0=$(vm_now)
	set +e
	if [ -n "$shell" ]; then
		timeout --foreground -k 5 "$timeout_s" "${qemu[@]}"
	else
		timeout -k 5 "$timeout_s" "${qemu[@]}" </dev/null
	fi
	qrc=$?
	set -e
	wall=$(vm_since "$t0")
	if [ $qrc -eq 124 ]; then
		vm_log "TIMEOUT after ${timeout_s}s (VM wall ${wall} s); run dir kept: $rundir"
		exit 124
	fi
	if [ ! -s "$rundir/status" ]; then
		vm_log "the VM ended without a command status (QEMU exit $qrc, wall ${wall} s): kernel panic or oops? run dir kept: $rundir"
		exit 125
	fi
	status=$(cat "$rundir/status")
	vm_log "VM wall time ${wall} s, command exit status $status (QEMU exit $qrc)"
	if [ "$status" != 0 ] || [ -n "$keep" ]; then
		vm_log "run dir kept: $rundir ($what)"
	else
		rm -rf "$rundir"
	fi
	exit "$status"
}
