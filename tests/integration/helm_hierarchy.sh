#!/usr/bin/env bash
# Three tiers for Helm, each a real process: site Outpost -> hub Outpost -> nginx chart repository.
# The site's charts.test upstream has the hub as its mirror (through a recording proxy).
# - the index and charts reach the site through the hub; each chart leaves the origin once;
# - origin stopped: a chart only the hub has comes through the site;
# - hub stopped: a chart the site never fetched comes from the origin (the site takes the index
#   from the next source when the mirror that listed the chart is gone), bytes checked against
#   the index digest;
# - hub and origin stopped: the site serves its copies.
source "$(dirname "$0")/lib.sh"

WP=$(free_port)
start_chart_repo "$WP" "http://127.0.0.1:$WP"

HUB=$(free_port)
write_outpost_config "$T/hub.yaml" "$HUB" "$T/hub-data" upstream.test "http://127.0.0.1:9"
helm_yaml "http://127.0.0.1:$WP" "refresh_interval: 1s" >>"$T/hub.yaml"
start_outpost hub "$T/hub.yaml"

start_recording_proxy hubrp "$HUB"
RP=$hubrp_PORT

SITE=$(free_port)
write_outpost_config "$T/site.yaml" "$SITE" "$T/site-data" upstream.test "http://127.0.0.1:9"
helm_yaml "http://127.0.0.1:$WP" "refresh_interval: 1s" "breaker_min_backoff: 500ms" \
  "breaker_max_backoff: 2s" >>"$T/site.yaml"
cat >>"$T/site.yaml" <<YAML
      mirrors:
        - url: http://127.0.0.1:$RP/helm/charts.test
          insecure: true
YAML
start_outpost site "$T/site.yaml"
REPO="http://127.0.0.1:$SITE/helm/charts.test/stable"

python3 -c 'import json,sys; [print(k, v["source"]) for k, v in json.load(open(sys.argv[1])).items()]' \
  "$T/www/stable/expected.json" >"$T/expected.txt"
mapfile -t charts <"$T/expected.txt"
((${#charts[@]} >= 3)) || die "expected several charts, saw ${#charts[@]}"
get_chart() { # FILE SRC
  curl -sf "$REPO/charts/$1" -o "$T/got" || return 1
  cmp -s "$T/www/$2" "$T/got" || die "$1 differs from the origin's"
}
origin_gets() { grep -c "GET /$1 " "$T/charts-access.log" || true; }

log "--- index and charts through site -> hub -> origin"
curl -sf "$REPO/index.yaml" -o /dev/null || die "no index through the hierarchy"
grep -q "GET /helm/charts.test/stable/index.yaml 200" "$T/hubrp-requests.log" || die "the site did not take the index from the hub"
last=$((${#charts[@]} - 1))
for i in $(seq 0 $((last - 2))); do
  read -r file src <<<"${charts[$i]}"
  get_chart "$file" "$src" || die "cold $file through the hierarchy"
  grep -q "GET /helm/charts.test/stable/charts/$file 200" "$T/hubrp-requests.log" || die "$file did not come through the hub"
  [[ $(origin_gets "$src") == 1 ]] || die "the origin served $src $(origin_gets "$src") times, want 1"
done
grep -q "GET /stable/" "$T/charts-access.log" || die "no origin requests at all"

log "--- origin stopped: a chart only the hub has comes through the site"
read -r file src <<<"${charts[$((last - 1))]}"
curl -sf "http://127.0.0.1:$HUB/helm/charts.test/stable/charts/$file" -o /dev/null || die "warming the hub with $file"
stop_pid "$charts_PID"
get_chart "$file" "$src" || die "origin down: $file did not come from the hub"
[[ $(origin_gets "$src") == 1 ]] || die "the origin served $src $(origin_gets "$src") times, want 1"
restart_nginx charts "$WP"

log "--- hub stopped: a chart never fetched comes from the origin"
stop_pid "$hub_PID"
read -r file src <<<"${charts[$last]}"
get_chart "$file" "$src" || die "hub down: $file did not come from the origin"
[[ $(origin_gets "$src") == 1 ]] || die "the origin served $src $(origin_gets "$src") times, want 1"
status=$(curl -sf "http://127.0.0.1:$SITE/api/v1/status")
python3 - "$status" "http://127.0.0.1:$RP/helm/charts.test" <<'PY' || die "status does not show the hub down"
import json, sys
s, hub = json.loads(sys.argv[1]), sys.argv[2]
u = [u for u in s["upstreams"] if u["kind"] == "helm"][0]
srcs = {x["url"]: x for x in u["sources"]}
assert not srcs[hub]["up"] and srcs[hub]["bytes"] > 0, srcs[hub]
assert u["up"], u
PY

log "--- hub and origin stopped: the site serves its copies"
stop_pid "$charts_PID"
curl -sf "$REPO/index.yaml" -o /dev/null || die "offline: no index"
for entry in "${charts[@]}"; do
  read -r file src <<<"$entry"
  get_chart "$file" "$src" || die "offline: $file not served"
done
log "ok"
