#!/usr/bin/env bash
# Quick start, part 2: install what is missing (build deps and test peers), build, run every test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" --test
"$root/scripts/build.sh"
cd "${OUTPOST_BUILD_DIR:-$root/build}"
ctest --output-on-failure --timeout 900 "$@"
