#!/usr/bin/env bash
# A cold chart download whose first upstream request is black-holed (it stalls before the first
# byte) is retried within the stall budget, as blob downloads are: every chart of the repository,
# each with its first request swallowed by the fault proxy, downloads byte-identical.
source "$(dirname "$0")/lib.sh"

WP=$(free_port)
start_proxy px "$WP"
# Chart URLs in the index name the proxy, so every chart request crosses it.
start_chart_repo "$WP" "http://127.0.0.1:$px_PORT"
OP=$(free_port)
write_outpost_config "$T/serve.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:9"
helm_yaml "http://127.0.0.1:$px_PORT" "stall_timeout: 1s" >>"$T/serve.yaml"
start_outpost op "$T/serve.yaml"
REPO="http://127.0.0.1:$OP/helm/charts.test/stable"
curl -sf "$REPO/index.yaml" -o /dev/null || die "no index through Outpost"

python3 -c 'import json,sys; [print(k, v["source"]) for k, v in json.load(open(sys.argv[1])).items()]' \
  "$T/www/stable/expected.json" >"$T/expected.txt"
n=0
while read -r file src; do
  echo blackholeonce >"$px_CTL"
  curl -sf "$REPO/charts/$file" -o "$T/got" || die "cold $file failed after a stalled first request"
  [[ $(cat "$px_CTL") == pass ]] || die "$file: no upstream request was black-holed"
  cmp -s "$T/www/$src" "$T/got" || die "$file differs from upstream"
  n=$((n + 1))
done <"$T/expected.txt"
((n >= 2)) || die "expected several charts, saw $n"
log "$n cold charts downloaded, each after a black-holed first request"
log "ok"
