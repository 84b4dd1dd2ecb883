#!/usr/bin/env bash
# Builds the mock kernel (src-native/mock) and its self-test (test/cc/mock_selftest.cc) standalone,
# without node-gyp, with the sanitizers and warnings as errors, then runs the self-test.
#   scripts/build-mock-selftest.sh                 build into $OUT (default /tmp/mockbuild) and run
#   scripts/build-mock-selftest.sh Cdma Model      run only the tests whose name contains an argument
#   SANITIZE=thread scripts/build-mock-selftest.sh Cdma ModelThreads
#                                                  ThreadSanitizer instead of ASan+UBSan (default
#                                                  OUT /tmp/mockbuild-tsan: objects never mix)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
san=${SANITIZE:-address,undefined}
if [ "$san" = thread ]; then default_out=/tmp/mockbuild-tsan; else default_out=/tmp/mockbuild; fi
out=${OUT:-$default_out}
mkdir -p "$out"
flags=(-std=c++17 -O1 -g -Wall -Wextra -Werror "-fsanitize=$san" -fno-omit-frame-pointer)
objs=()
pids=()
for src in "$root"/src-native/mock/*.cc "$root"/test/cc/mock_selftest.cc; do
  obj="$out/$(basename "${src%.cc}").o"
  objs+=("$obj")
  if [ -f "$obj" ] && [ "$obj" -nt "$src" ] && [ -z "$(find "$root/src-native" -name '*.h' -newer "$obj")" ]; then
    continue
  fi
  g++ "${flags[@]}" -I"$root/src-native" -c "$src" -o "$obj" &
  pids+=($!)
done
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=1; done
[ "$fail" = 0 ] || { echo "build failed" >&2; exit 1; }
g++ "${flags[@]}" -pthread "${objs[@]}" -o "$out/mock_selftest"
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  "$out/mock_selftest" "$@"
