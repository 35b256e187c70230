#!/usr/bin/env bash
# Quick start, part 2: install what is missing (build deps and test peers), build, run every test;
# then the same suite's unit tests, fuzz corpora and `sanitize`-labelled integration tests under
# ASan+UBSan, and a short fuzzing run (scripts/sanitize.sh). The sanitizer build runs at low
# priority while the main suite runs. OUTPOST_SANITIZE=0 skips that pass.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" --test
"$root/scripts/build.sh" --tests
sanitize=${OUTPOST_SANITIZE:-1}
asan_log=${OUTPOST_BUILD_DIR:-$root/build}/sanitize-build.log
if [[ $sanitize == 1 ]]; then
  nice -n 19 "$root/scripts/sanitize.sh" --build-only >"$asan_log" 2>&1 &
  asan_build=$!
fi
cd "${OUTPOST_BUILD_DIR:-$root/build}"
rc=0
ctest --output-on-failure --timeout 900 "$@" || rc=$?
if [[ $sanitize == 1 ]]; then
  if ! wait "$asan_build"; then
    tail -50 "$asan_log"
    echo "test: the sanitizer build failed" >&2
    exit 1
  fi
  "$root/scripts/sanitize.sh" --test-only || rc=$?
fi
exit $rc
