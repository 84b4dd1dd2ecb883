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
