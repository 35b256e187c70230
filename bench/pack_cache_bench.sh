#!/usr/bin/env bash
# When should the pack cache keep a response: at its first sighting (min_requests 1) or its
# second (2, the default)? Two Outposts, one of each, side by side in the same run, in front of
# one git http-backend repository, get the same workload:
#   - 20 one-off fetches: shallow clones at depths 1..20 (20 keys, each asked once);
#   - 10 identical full clones one after the other;
#   - a storm of 10 identical clones at depth 25 (a key no one asked before).
# Reports upload-pack runs, hits, joins, what each keeps (entries, bytes) and the bytes it wrote
# for responses nobody read again.
#
#   bench/pack_cache_bench.sh [--commits 200]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/bench_lib.sh"
bench_options "$0 [--commits N]" COMMITS=200 -- "$@"
source "$root/tests/integration/git_lib.sh"

start_git_upstream
w=$T/work/org/repo
mkdir -p "$w" "$GIT_SRV/org"
git init -q "$w"
for i in $(seq "$COMMITS"); do
  head -c 4000 /dev/urandom | base64 >"$w/f$((i % 30)).txt"
  git -C "$w" add -A
  git -C "$w" commit -qm "c$i"
done
git clone -q --bare "$w" "$GIT_SRV/org/repo.git"

declare -A PORT
for m in 1 2; do
  PORT[$m]=$(free_port)
  write_git_outpost_config "$T/op$m.yaml" "${PORT[$m]}" "$T/data$m" "sync_interval: 1h" \
    "pack_cache: {min_requests: $m}"
  sed -i 's/^listen:/log: {level: warn}\nlisten:/' "$T/op$m.yaml"
  start_outpost "op$m" "$T/op$m.yaml"
done
url() { echo "http://127.0.0.1:${PORT[$1]}/git/git.test/org/repo.git"; }
m_() { metric "$1" "${PORT[$2]}"; }

for m in 1 2; do
  u=$(url $m)
  git ls-remote "$u" >/dev/null
  for d in $(seq 20); do git clone -q --depth "$d" "$u" "$T/s$m-$d"; done
  for i in $(seq 10); do git clone -q "$u" "$T/f$m-$i"; done
  (for i in $(seq 10); do git clone -q --depth 25 "$u" "$T/st$m-$i" & done; wait)
  rm -rf "$T"/s$m-* "$T"/f$m-* "$T"/st$m-*
done

echo
echo "Pack cache: keep at the first sighting or the second ($COMMITS commits; 20 one-off shallow"
echo "clones, 10 identical full clones in a row, a storm of 10 identical clones)"
echo
echo "| min_requests | upload-pack fetch runs | hits | joined | kept entries | kept bytes |"
echo "|---|---|---|---|---|---|"
for m in 1 2; do
  echo "| $m | $(m_ 'outpost_git_upload_pack_runs_total{request="fetch"}' $m) | $(m_ 'outpost_git_pack_cache_requests_total{result="hit"}' $m) | $(m_ 'outpost_git_pack_cache_requests_total{result="joined"}' $m) | $(m_ outpost_git_pack_cache_entries $m) | $(m_ outpost_git_pack_cache_bytes $m) |"
done
