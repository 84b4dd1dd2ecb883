#!/usr/bin/env bash
# ci-in-minimal-root.sh — run `.ci/run` in a minimal Debian bookworm root, to prove that CI
# installs everything it needs (a machine where tools were installed by hand hides a missing
# install step: `headers_install` once failed on a fresh machine for want of rsync).
#
# Usage (as root): scripts/ci-in-minimal-root.sh [COMMIT]     (default: HEAD)
#
#   1. debootstrap --variant=minbase bookworm into $ROOT (default /var/tmp/vfio-cdx-ci-root,
#      reused when it exists: delete it for a new one). minbase is Debian's smallest root:
#      essential packages and apt, no compiler, no python, no git, no rsync, no qemu.
#   2. What a CI machine has before .ci/run starts, and nothing more: Node.js and npm as this
#      machine's nodejs package installed them (the registry's binaries; Node's headers in
#      /usr/include/node), npm's `nodedir=/usr`, the machine's Debian suites (bookworm,
#      -updates, -security), and a clone of the repository at COMMIT.
#   3. chroot, with /proc, /sys and /dev mounted, and run `CI=true bash .ci/run` there.
#      The kernel-build and Node caches start empty inside the root, as on a fresh machine.
#
# The exit status is .ci/run's. Its output goes to stdout and to $ROOT/ci.log.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "run as root (debootstrap and chroot)" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
commit=$(git -C "$repo" rev-parse "${1:-HEAD}")
ROOT=${ROOT:-/var/tmp/vfio-cdx-ci-root}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

command -v debootstrap >/dev/null || { apt-get update -q && apt-get install -y -q --no-install-recommends debootstrap; }

if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
  echo "ci-root: debootstrap minbase bookworm into $ROOT"
  rm -rf "$ROOT"
  debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >/dev/null
fi

# Node.js as the CI machine has it: the files of this machine's nodejs package, copied as they
# are (it is the registry's Node build, with the headers node-gyp needs), and npm as the machine
# runs it (upgraded at boot, so copied whole rather than from the package's file list).
if [ ! -x "$ROOT/usr/bin/node" ] || ! chroot "$ROOT" /usr/bin/npm --version >/dev/null 2>&1; then
  echo "ci-root: Node.js $(node --version) and npm $(npm --version) from this machine"
  # Files and symlinks, not directories (tar would add their whole contents).
  dpkg -L nodejs | grep -v '^/usr/lib/node_modules/' |
    while read -r f; do if [ -f "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi; done |
    tar --null -T - -cf - 2>/dev/null | tar -C "$ROOT" -xf -
  rm -rf "$ROOT/usr/lib/node_modules"
  cp -a /usr/lib/node_modules "$ROOT/usr/lib/node_modules"
fi
# The machine's registry access, not the project's needs: npm's settings and the CA bundle this
# workplace's registries are reached through (NODE_EXTRA_CA_CERTS, npm's cafile).
cp ~/.npmrc "$ROOT/root/.npmrc" 2>/dev/null || printf 'nodedir=/usr\n' > "$ROOT/root/.npmrc"
grep -q '^nodedir=' "$ROOT/root/.npmrc" || printf 'nodedir=/usr\n' >> "$ROOT/root/.npmrc"
for f in /etc/npmrc /usr/etc/npmrc /etc/ssl/certs/ca-certificates.crt; do
  if [ -f "$f" ]; then mkdir -p "$ROOT$(dirname "$f")"; cp "$f" "$ROOT$f"; fi
done
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# The machine's Debian suites, as a fresh machine of this kind has them: debootstrap writes only
# "bookworm main", but the machine also has bookworm-updates and bookworm-security (where
# linux-source-6.12, which the VM tier builds, comes from).
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  cp /etc/apt/sources.list.d/debian.sources "$ROOT/etc/apt/sources.list.d/debian.sources"
  [ ! -f "$ROOT/etc/apt/sources.list" ] || mv "$ROOT/etc/apt/sources.list" "$ROOT/etc/apt/sources.list.debootstrap"
fi
echo "ci-root: packages in the root: $(chroot "$ROOT" dpkg-query -W -f='${Package}\n' | wc -l)" \
  "(no compiler: $(chroot "$ROOT" sh -c 'command -v g++ || echo none'); no git: $(chroot "$ROOT" sh -c 'command -v git || echo none'))"

# A clean clone at COMMIT, made from the outside (the root has no git).
rm -rf "$ROOT/ci"
git clone -q --no-hardlinks "$repo" "$ROOT/ci"
git -C "$ROOT/ci" checkout -q "$commit"
rm -rf "$ROOT/ci/.git"

mounts=()
cleanup() {
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
for m in proc sys dev dev/pts; do
  mkdir -p "$ROOT/$m"
  case $m in
    proc) mount -t proc proc "$ROOT/proc" ;;
    sys) mount -t sysfs sysfs "$ROOT/sys" ;;
    dev) mount --bind /dev "$ROOT/dev" ;;
    dev/pts) mount -t devpts devpts "$ROOT/dev/pts" ;;
  esac
  mounts+=("$ROOT/$m")
done

echo "ci-root: .ci/run at $commit"
set +e
chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  TERM=dumb CI=true ${NODE_EXTRA_CA_CERTS:+NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS} \
  bash -c 'cd /ci && bash .ci/run' 2>&1 | tee "$ROOT/ci.log"
rc=${PIPESTATUS[0]}
set -e
echo "ci-root: .ci/run exited $rc"
exit "$rc"
