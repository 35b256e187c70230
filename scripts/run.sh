#!/usr/bin/env bash
# Quick start, part 1: install what is missing, build, and run `outpost serve` on its embedded
# default (data in ./outpost-data, listening on 127.0.0.1:8080, default upstreams).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
exec "$root/build/outpost" serve "$@"
