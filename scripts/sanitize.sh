#!/usr/bin/env bash
# The sanitizer and fuzzing pass (scripts/test.sh runs it after the main suite):
#   - builds build-asan/ with clang 16: ASan+UBSan (any undefined behaviour aborts) and the
#     libFuzzer targets of fuzz/;
#   - runs the unit tests, every fuzz target over its corpus (fuzz/corpus/<target>; crashes found
#     are added there and stay regression tests) and the integration tests labelled `sanitize`
#     against the sanitized binary;
#   - fuzzes each target from its corpus: FUZZ_RUNS inputs (default 20000) with a fixed seed, so
#     CI is repeatable; FUZZ_SECONDS=N instead fuzzes N seconds per target with a random seed (by
#     hand, to find new bugs). New inputs go to build-asan/fuzz-corpus/; a crash or a hang fails
#     the run and leaves crash-*/timeout-* in build-asan/fuzz-crashes/ (add it to fuzz/corpus/).
# Usage: scripts/sanitize.sh [--build-only | --test-only]. Longer fuzzing by hand:
#   FUZZ_SECONDS=600 scripts/sanitize.sh --test-only
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${OUTPOST_ASAN_DIR:-$root/build-asan}
if [[ -n ${FUZZ_SECONDS:-} ]]; then
  budget=(-max_total_time="$FUZZ_SECONDS")
  what="${FUZZ_SECONDS}s"
else
  budget=(-seed=1 -runs="${FUZZ_RUNS:-20000}")
  what="seed 1"
fi
mode=${1:-all}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer || true)}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [[ $mode != --test-only ]]; then
  if [[ ! -f $build/CMakeCache.txt ]]; then
    CC=clang-16 CXX=clang++-16 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" -DOUTPOST_SANITIZE=ON -DOUTPOST_FUZZ=ON \
      >/dev/null
  fi
  ninja -C "$build" -j"${JOBS:-2}"
fi
[[ $mode == --build-only ]] && exit 0

cd "$build"
ctest --output-on-failure --timeout 900 -E '^integration\.'
ctest --output-on-failure --timeout 900 -L sanitize
mkdir -p fuzz-corpus fuzz-crashes
for t in fuzz/fuzz_*; do
  name=${t#fuzz/fuzz_}
  mkdir -p "fuzz-corpus/$name"
  "$t" "${budget[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="fuzz-crashes/$name-" "fuzz-corpus/$name" "$root/fuzz/corpus/$name" \
    >"fuzz-$name.log" 2>&1 || {
    tail -40 "fuzz-$name.log"
    echo "sanitize: fuzz_$name crashed; the input is in $build/fuzz-crashes/"
    exit 1
  }
  echo "fuzz_$name: $(awk '/^stat::number_of_executed_units/ {print $2}' "fuzz-$name.log") runs ($what), no crash"
done
echo "sanitize: ok"
