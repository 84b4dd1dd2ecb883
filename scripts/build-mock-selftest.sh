#!/usr/bin/env bash
# Builds the mock kernel (src-native/mock) and its C++ self-test (test/cc: the harness selftest.cc and
# one *_test.cc per mirrored kernel file) standalone, without node-gyp, with the sanitizers and
# warnings as errors, then runs the self-test. Its last line is "N passed, M failed".
#   scripts/build-mock-selftest.sh                 build into $OUT (default /tmp/mockbuild) and run
#   scripts/build-mock-selftest.sh Cdma Model      run only the tests whose name contains an argument
#   SANITIZE=thread scripts/build-mock-selftest.sh Cdma ModelThreads
#                                                  ThreadSanitizer instead of ASan+UBSan (default
#                                                  OUT /tmp/mockbuild-tsan)
#   JOBS=N                                         compile N files at once (default: the CPU count)
# Only what changed is compiled again: g++ -MMD lists, next to each object, the source and every
# header it included, and an object older than any of them is rebuilt. Objects built with other
# flags (another SANITIZE into the same OUT) are all rebuilt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
san=${SANITIZE:-address,undefined}
if [ "$san" = thread ]; then default_out=/tmp/mockbuild-tsan; else default_out=/tmp/mockbuild; fi
out=${OUT:-$default_out}
jobs=${JOBS:-$(nproc)}
flags=(-std=c++17 -O1 -g -Wall -Wextra -Werror "-fsanitize=$san" -fno-omit-frame-pointer)
mkdir -p "$out/mock" "$out/test"
if [ "$(cat "$out/flags" 2>/dev/null)" != "${flags[*]}" ]; then
  rm -f "$out"/mock/*.[od] "$out"/test/*.[od]
  printf '%s\n' "${flags[*]}" >"$out/flags"
fi

# Whether object $1 must be compiled again: it or its dependency list is missing, or a file the
# list names is gone or newer than it.
stale() {
  local obj=$1 dep=${1%.o}.d f
  [ -f "$obj" ] && [ -f "$dep" ] || return 0
  for f in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$dep"); do
    [ -e "$f" ] && [ ! "$f" -nt "$obj" ] || return 0
  done
  return 1
}

objs=()
running=0
fail=0
for src in "$root"/src-native/mock/*.cc "$root"/test/cc/*.cc; do
  case $src in "$root"/test/*) dir=test ;; *) dir=mock ;; esac
  obj="$out/$dir/$(basename "${src%.cc}").o"
  objs+=("$obj")
  stale "$obj" || continue
  if [ "$running" -ge "$jobs" ]; then
    wait -n || fail=1
    running=$((running - 1))
  fi
  g++ "${flags[@]}" -I"$root/src-native" -MMD -MP -MF "${obj%.o}.d" -c "$src" -o "$obj" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || fail=1
  running=$((running - 1))
done
[ "$fail" = 0 ] || { echo "build failed" >&2; exit 1; }
g++ "${flags[@]}" -pthread "${objs[@]}" -o "$out/mock_selftest"
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  "$out/mock_selftest" "$@"
