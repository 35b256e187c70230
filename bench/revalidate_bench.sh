#!/usr/bin/env bash
# Warm pull by tag over a long link: the upstream (docker-registry) sits behind a line with a
# round trip of --rtt-ms (tests/tools/fault_proxy.py `rtt`), and three pull-through caches in
# front of it, side by side in the same run, have the image already:
#   outpost-background  Outpost, registry.revalidate: background
#   outpost-inline      Outpost, registry.revalidate: inline
#   registry-proxy      docker-registry in proxy mode (checks the tag upstream on every pull)
# Both Outposts run with tag_ttl: 0s, so every pull is due for revalidation (the worst case; a
# pull within tag_ttl never goes upstream in either mode). Each pull resolves the tag (what a node
# with imagePullPolicy: Always does) with `skopeo inspect --raw`, or copies the whole image
# (`skopeo copy`, warm) with --full 1. Prints a Markdown table: median and p90 per pull, and the
# ratio to outpost-background.
#
#   bench/revalidate_bench.sh [--rtt-ms 500] [--pulls 15] [--full 0]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/bench_lib.sh"
bench_options "$0 [--rtt-ms N] [--pulls N] [--full 0|1]" RTT_MS=500 PULLS=15 FULL=0 -- "$@"
[[ $RTT_MS =~ ^[0-9]+$ && $PULLS =~ ^[0-9]+$ && $PULLS -ge 3 && $FULL == [01] ]] || die "bad options"

now_ns() { date +%s%N; }

start_registry origin
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 4 --layers 2 >/dev/null
push_image "$T/layout" v1 "$origin_PORT" bench/app
start_proxy line "$origin_PORT"
echo "rtt $RTT_MS" >"$line_CTL"
ORIGIN=http://127.0.0.1:$line_PORT

start_outposts() {
  local mode
  for mode in background inline; do
    local port
    port=$(free_port)
    write_outpost_config "$T/$mode.yaml" "$port" "$T/$mode-data" upstream.test "$ORIGIN" \
      "tag_ttl: 0s" "revalidate: $mode"
    sed -i 's/^listen:/log: {level: warn}\nlisten:/; s/upstream_timeout: 2s/upstream_timeout: 10s/' \
      "$T/$mode.yaml"
    start_outpost "$mode" "$T/$mode.yaml"
  done
}
start_outposts
start_proxy_registry regproxy "$ORIGIN"

declare -A REF=(
  [outpost-background]="127.0.0.1:$background_PORT/upstream.test/bench/app:v1"
  [outpost-inline]="127.0.0.1:$inline_PORT/upstream.test/bench/app:v1"
  [registry-proxy]="127.0.0.1:$regproxy_PORT/bench/app:v1"
)
FRONTS=(outpost-background outpost-inline registry-proxy)

pull() {  # pull FRONT N
  if [[ $FULL == 1 ]]; then
    rm -rf "$T/pull-$1"
    skopeo_ copy -q --src-tls-verify=false "docker://${REF[$1]}" "dir:$T/pull-$1"
  else
    skopeo_ inspect --raw --tls-verify=false "docker://${REF[$1]}" >/dev/null
  fi
}

log "warming each front (a cold pull over the $RTT_MS ms line)"
for f in "${FRONTS[@]}"; do pull "$f" || die "warm pull through $f"; done

declare -A TIMES
for i in $(seq "$PULLS"); do  # interleaved: the same machine load for each front
  for f in "${FRONTS[@]}"; do
    s=$(now_ns)
    pull "$f" || die "pull $i through $f"
    e=$(now_ns)
    TIMES[$f]+="$(((e - s) / 1000000)) "
  done
done

stat() {  # stat "ms ms ...": "median p90"
  python3 -c 'import sys, statistics as s
v = sorted(int(x) for x in sys.argv[1].split())
print(int(s.median(v)), v[min(len(v) - 1, int(round(0.9 * (len(v) - 1))))])' "$1"
}
read -r base_med _ <<<"$(stat "${TIMES[outpost-background]}")"
what=$([[ $FULL == 1 ]] && echo "skopeo copy (warm)" || echo "skopeo inspect --raw")
echo
echo "Warm pull by tag, $what, upstream round trip $RTT_MS ms, $PULLS pulls each, tag due every time"
echo
echo "| front | median ms | p90 ms | median vs outpost-background |"
echo "|---|---|---|---|"
for f in "${FRONTS[@]}"; do
  read -r med p90 <<<"$(stat "${TIMES[$f]}")"
  echo "| $f | $med | $p90 | $(awk -v a="$med" -v b="$base_med" 'BEGIN {printf "%.2f×", b ? a / b : 0}') |"
done
bg_heads=$(metric 'outpost_registry_revalidations_total{upstream="upstream.test",mode="background",result="unchanged"}' "$background_PORT")
in_heads=$(metric 'outpost_registry_revalidations_total{upstream="upstream.test",mode="inline",result="unchanged"}' "$inline_PORT")
echo
echo "Revalidations upstream (HEAD, unchanged): background $bg_heads, inline $in_heads."
