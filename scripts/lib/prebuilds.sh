# shellcheck shell=bash
# prebuilds_fresh ARCH: true when prebuilds/linux-ARCH holds an addon newer than every native
# source, so scripts may reuse it instead of building it again.
prebuilds_fresh() {
  local node
  node=$(ls "prebuilds/linux-$1"/*.node 2>/dev/null | head -n 1) || true
  [ -n "$node" ] || return 1
  [ -z "$(find src-native binding.gyp package.json -newer "$node" -print -quit)" ]
}

# ensure_prebuilds ARCH...: builds those that are missing or stale.
ensure_prebuilds() {
  local stale=()
  for a in "$@"; do prebuilds_fresh "$a" || stale+=("$a"); done
  if [ ${#stale[@]} -gt 0 ]; then bash scripts/prebuild.sh "${stale[@]}"; fi
}

# apt_install PKG...: installs Debian packages that are missing (apt-get update first, once).
apt_install() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -gt 0 ] || return 0
  # One apt at a time among our scripts (.ci/run builds the VM kernels in the background, and
  # their script installs packages too): apt-get itself fails at once on a held lock.
  flock /tmp/vfio-cdx-apt.lock env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  flock /tmp/vfio-cdx-apt.lock env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}
