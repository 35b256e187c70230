#!/usr/bin/env bash
# Helm in a three-replica site cluster, against an nginx chart repository: each chart archive
# fetched through every replica leaves the origin once (the chart's owner fetches it; the others
# take it from the cluster), byte-identical; each replica keeps its own index. With the origin
# stopped, a replica restarted with an empty disk takes a peer's copy of the index and the charts
# from the peers.
source "$(dirname "$0")/lib.sh"

WP=$(free_port)
start_chart_repo "$WP" "http://127.0.0.1:$WP"
CLUSTER_YAML=$(helm_yaml "http://127.0.0.1:$WP")
start_cluster "http://127.0.0.1:9"

python3 -c 'import json,sys; [print(k, v["source"]) for k, v in json.load(open(sys.argv[1])).items()]' \
  "$T/www/stable/expected.json" >"$T/expected.txt"
mapfile -t charts <"$T/expected.txt"
((${#charts[@]} >= 3)) || die "expected several charts, saw ${#charts[@]}"
origin_gets() { grep -c "GET /$1 " "$T/charts-access.log" || true; }

for c in "${charts[@]:0:3}"; do
  read -r file src <<<"$c"
  for i in 1 2 3; do
    curl -sf "${URLS[$i]}/helm/charts.test/stable/charts/$file" -o "$T/got" || die "$file through replica $i"
    cmp -s "$T/www/$src" "$T/got" || die "$file through replica $i differs from the origin's"
  done
  [[ $(origin_gets "$src") == 1 ]] || die "the origin served $src $(origin_gets "$src") times for 3 replicas"
done
log "3 charts through each of 3 replicas: each left the origin once"
log "origin stopped, replica 3 restarted empty: a peer's index, and the charts from the peers"
stop_pid "$charts_PID"
stop_pid "$r3_PID"
rm -rf "$T/r3-data"
start_replica 3
curl -sf "${URLS[3]}/helm/charts.test/stable/index.yaml" -o "$T/index-3" || die "no index through the empty replica"
grep -q "took .*'s copy" "$T/r3.log" || die "replica 3 did not take a peer's index"
for c in "${charts[@]:0:3}"; do
  read -r file src <<<"$c"
  grep -q "$file" "$T/index-3" || die "the index through replica 3 does not list $file"
  curl -sf "${URLS[3]}/helm/charts.test/stable/charts/$file" -o "$T/got" || die "$file through the empty replica 3"
  cmp -s "$T/www/$src" "$T/got" || die "$file through replica 3 differs from the origin's"
done
log "ok"
