#!/usr/bin/env bash
# Builds both prebuilds (npm run prebuild) and checks what a user's machine will need:
# each binary's architecture, that it is stripped, and the highest GLIBC_ symbol version it
# requires, which must not exceed GLIBC_FLOOR (the oldest glibc the package promises to load
# on; README "On a Versal board"), and likewise GLIBCXX_ against GLIBCXX_FLOOR. A change that pulls in a newer glibc symbol (static
# libstdc++, arc4random, pidfd_*, the mount API...) fails here.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/prebuilds.sh
GLIBC_FLOOR=2.34
# libstdc++ of GCC 12: std::condition_variable::wait got a new symbol version (GLIBCXX_3.4.30) there.
GLIBCXX_FLOOR=3.4.30
t0=$(date +%s)
apt_install file binutils g++-aarch64-linux-gnu
# --no-build: check the prebuilds as they are (while developing); CI always builds them afresh.
[ "${1:-}" = --no-build ] || bash scripts/prebuild.sh arm64 x64

pass=0 fail=0
check() {  # check NAME CONDITION-RESULT(0/1) DETAIL
  if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "  ok   $1: $3"; else fail=$((fail + 1)); echo "  FAIL $1: $3"; fi
}
for arch in x64 arm64; do
  case $arch in x64) want='X86-64' ;; arm64) want='AArch64' ;; esac
  files=(prebuilds/linux-$arch/*.node)
  echo "prebuilds/linux-$arch:"
  check "$arch: one addon" "$([ ${#files[@]} = 1 ] && [ -f "${files[0]}" ]; echo $?)" "${files[*]}"
  f=${files[0]}
  [ -f "$f" ] || continue
  echo "  file: $(file -b "$f")"
  machine=$(readelf -h "$f" | sed -n 's/^ *Machine: *//p')
  check "$arch: machine" "$([[ $machine == *"$want"* ]]; echo $?)" "$machine"
  # The library's addon, not the bench-only one that node-gyp also copies into build/Release in a
  # clone (prebuildify packs the first .node there by name): only the library defines NativeDevice.
  check "$arch: the library's addon" "$(grep -aq 'NativeDevice' "$f"; echo $?)" "defines NativeDevice"
  check "$arch: stripped" "$(file -b "$f" | grep -q ', stripped'; echo $?)" "no symbol table"
  glibc=$(readelf -W -V "$f" | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
  glibcxx=$(readelf -W -V "$f" | grep -oE 'GLIBCXX_[0-9]+(\.[0-9]+)+' | sed 's/GLIBCXX_//' | sort -uV | tail -n 1)
  libs=$(readelf -d "$f" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')
  echo "  needs: $libs; highest GLIBC_$glibc, GLIBCXX_$glibcxx"
  highest=$(printf '%s\n%s\n' "$glibc" "$GLIBC_FLOOR" | sort -V | tail -n 1)
  check "$arch: glibc floor" "$([ "$highest" = "$GLIBC_FLOOR" ]; echo $?)" "GLIBC_$glibc <= GLIBC_$GLIBC_FLOOR"
  highest=$(printf '%s\n%s\n' "$glibcxx" "$GLIBCXX_FLOOR" | sort -V | tail -n 1)
  check "$arch: libstdc++ floor" "$([ "$highest" = "$GLIBCXX_FLOOR" ]; echo $?)" "GLIBCXX_$glibcxx <= GLIBCXX_$GLIBCXX_FLOOR"
  check "$arch: libstdc++ linked dynamically" "$([[ $libs == *libstdc++.so.6* ]]; echo $?)" "$libs"
done
echo "check-prebuilds: $(( $(date +%s) - t0 ))s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
