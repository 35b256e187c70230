#!/usr/bin/env bash
# Pipelines that fail at random under `set -o pipefail`: a reader that stops early (`grep -q`,
# `head -N`) makes the writer before it die of SIGPIPE whenever it still writes, and the pipeline
# "fails". Finds them in the shell scripts of the tests, benchmarks and scripts (on one line or
# after a `|` line continuation). Use grep_q (tests/integration/lib.sh), `grep … >/dev/null` or
# `sed -n 1p` instead. Exit 1 and the offending lines when any is found.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bad=0
for f in "$root"/tests/integration/*.sh "$root"/bench/*.sh "$root"/scripts/*.sh "$root"/tests/tools/*.sh; do
  [[ -f $f ]] || continue
  out=$(awk '
    /^[ \t]*#/ { prev = ""; next }
    /(^|[^|])\|[ \t]*(grep[ \t]+-[a-zA-Z]*q|head[ \t]+-[0-9n])/ { print FILENAME ":" FNR ": " $0 }
    prev ~ /(^|[^|])\|[ \t]*$/ && /^[ \t]*(grep[ \t]+-[a-zA-Z]*q|head[ \t]+-[0-9n])/ {
      print FILENAME ":" FNR ": " $0
    }
    { prev = $0 }' "$f")
  if [[ -n $out ]]; then
    printf '%s\n' "$out"
    bad=1
  fi
done
if ((bad)); then
  echo "lint_pipes: a reader that stops early in a pipeline fails at random under pipefail" >&2
  exit 1
fi
echo "lint_pipes: no early-exit readers in pipelines"
