#!/usr/bin/env bash
# Many GitOps controllers resolving one OCI source's semver range (what each Argo CD repo-server
# or Flux source-controller does on every poll: walk tags/list, take the highest match, fetch the
# manifest and the content layer) over a long link: the origin (docker-registry, --tags CI tags
# besides the versions) sits behind a line with a round trip of --rtt-ms
# (tests/tools/fault_proxy.py `rtt`). Side by side in the same run:
#   outpost         Outpost with the repository in sources.oci (checked every 1m in the background)
#   registry-proxy  docker-registry in proxy mode (the pull-through cache it replaces)
# --clients controllers poll at once, --rounds resolutions each (tests/tools/semver_client.py,
# pages of 100). Prints a Markdown table: median and p90 per resolution, the ratio to outpost, and
# the requests the origin served during the polling.
#
#   bench/oci_sources_bench.sh [--rtt-ms 100] [--clients 20] [--rounds 5] [--tags 2000]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/bench_lib.sh"
bench_options "$0 [--rtt-ms N] [--clients N] [--rounds N] [--tags N]" RTT_MS=100 CLIENTS=20 \
  ROUNDS=5 TAGS=2000 -- "$@"
[[ $RTT_MS =~ ^[0-9]+$ && $CLIENTS =~ ^[0-9]+$ && $ROUNDS =~ ^[0-9]+$ && $TAGS =~ ^[0-9]+$ ]] ||
  die "bad options"

start_registry origin
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 1 --layers 1 >/dev/null
push_image "$T/layout" v1 "$origin_PORT" bench/app
for v in 1.4.0 1.5.0; do
  python3 "$TOOLS/push_artifact.py" "$origin_PORT" bench/manifests "$v" --kind argocd \
    --image upstream.test/bench/app:v1 >/dev/null
done
python3 "$TOOLS/push_tags.py" "$origin_PORT" bench/manifests 1.4.0 "$TAGS" --prefix ci >/dev/null
start_proxy line "$origin_PORT"
echo "rtt $RTT_MS" >"$line_CTL"
ORIGIN=http://127.0.0.1:$line_PORT

OP=$(free_port)
write_outpost_config "$T/outpost.yaml" "$OP" "$T/data" upstream.test "$ORIGIN"
sed -i 's/^listen:/log: {level: warn}\nlisten:/; s/upstream_timeout: 2s/upstream_timeout: 30s/' "$T/outpost.yaml"
cat >>"$T/outpost.yaml" <<YAML
sources:
  oci:
    - repository: upstream.test/bench/manifests
      follow: [">=1.0.0 <2.0.0"]
      interval: 1m
YAML
start_outpost op "$T/outpost.yaml"
start_proxy_registry regproxy "$ORIGIN"
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$OP/api/v1/sources" | grep_q '"advertised_version":"1.5.0"' && break
  sleep 0.1
done

declare -A BASE=([outpost]="http://127.0.0.1:$OP" [registry-proxy]="http://127.0.0.1:$regproxy_PORT")
declare -A REPO=([outpost]=upstream.test/bench/manifests [registry-proxy]=bench/manifests)
FRONTS=(outpost registry-proxy)
resolve() {  # resolve FRONT OUT: ROUNDS resolutions, the ms of each appended to OUT
  local s e
  for _ in $(seq "$ROUNDS"); do
    s=$(date +%s%N)
    python3 "$TOOLS/semver_client.py" "${BASE[$1]}" "${REPO[$1]}" ">=1.0.0 <2.0.0" --page 100 \
      >/dev/null || exit 1
    e=$(date +%s%N)
    echo $(((e - s) / 1000000)) >>"$2"
  done
}
origin_requests() { grep -c '" [0-9][0-9][0-9] [0-9]* "' "$T/origin.log" || true; }
log "warming each front"
for f in "${FRONTS[@]}"; do ROUNDS=1 resolve "$f" "$T/warm-$f"; done
declare -A ORIGIN_REQ
for f in "${FRONTS[@]}"; do  # one front at a time: the same link for each
  log "$CLIENTS controllers x $ROUNDS resolutions through $f"
  before=$(origin_requests)
  pids=()
  for c in $(seq "$CLIENTS"); do
    resolve "$f" "$T/ms-$f" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || die "a controller failed through $f"; done
  ORIGIN_REQ[$f]=$(($(origin_requests) - before))
done

stat() {  # stat FILE: "median p90"
  python3 -c 'import sys, statistics as s
v = sorted(int(x) for x in open(sys.argv[1]))
print(int(s.median(v)), v[min(len(v) - 1, int(round(0.9 * (len(v) - 1))))])' "$1"
}
read -r base _ <<<"$(stat "$T/ms-outpost")"
echo
echo "Semver resolution of an OCI source ($((TAGS + 2)) tags, pages of 100), $CLIENTS controllers x $ROUNDS, upstream round trip $RTT_MS ms"
echo
echo "| front | median ms | p90 ms | median vs outpost | origin requests while polling |"
echo "|---|---|---|---|---|"
for f in "${FRONTS[@]}"; do
  read -r med p90 <<<"$(stat "$T/ms-$f")"
  echo "| $f | $med | $p90 | $(awk -v a="$med" -v b="$base" 'BEGIN {printf "%.2f×", b ? a / b : 0}') | ${ORIGIN_REQ[$f]} |"
done
