#!/usr/bin/env bash
# Configures and builds Outpost into build/ (Release with debug info). Extra args go to cmake.
#   scripts/build.sh           the daemon only (build dependencies alone suffice); a build dir
#                              already configured with the tests keeps them
#   scripts/build.sh --tests   also the test suite (needs the test dependencies: GoogleTest…)
# A configure that did not complete (a cache but no build files) is redone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OUTPOST_BUILD_DIR:-$root/build}
jobs=${OUTPOST_JOBS:-$(nproc)}
tests=
if [[ ${1:-} == --tests ]]; then
  tests=ON
  shift
fi
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

cached_tests() { sed -n 's/^OUTPOST_TESTS:BOOL=//p' "$build/CMakeCache.txt" 2>/dev/null || true; }
configured() { [[ -f $build/build.ninja || -f $build/Makefile ]]; }

if ! configured && [[ -f $build/CMakeCache.txt ]]; then
  echo "build: the last configure of $build did not complete; configuring again" >&2
  rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
fi
want=${tests:-$(cached_tests)}
want=${want:-OFF}
if ! configured || [[ $(cached_tests) != "$want" ]] || (($# > 0)); then
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DOUTPOST_TESTS="$want" "$@"
fi
cmake --build "$build" -j "$jobs"
