#!/usr/bin/env bash
# Docker Hub's rate-limit headers (ratelimit-limit, ratelimit-remaining, docker-ratelimit-source),
# added by a proxy in front of a docker-registry origin, are recorded per source: in /metrics, the
# status API and `outpost status`. A due tag is revalidated with a HEAD, which Docker Hub does not
# count as a pull: the second pull sends no manifest GET upstream.
source "$(dirname "$0")/lib.sh"

start_registry up
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 1 --layers 1 >/dev/null
push_image "$T/layout" v1 "$up_PORT" test/app
start_recording_proxy hubish "$up_PORT"
echo "ratelimit 100 76" >"$hubish_CTL"
OP=$(free_port)
write_outpost_config "$T/op.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:$hubish_PORT" "tag_ttl: 1s" "revalidate: inline"
start_outpost op "$T/op.yaml"
pull() { skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/app:v1" "dir:$T/$1"; }
remaining() {
  metric "outpost_upstream_ratelimit_remaining{kind=\"registry\",upstream=\"upstream.test\",source=\"http://127.0.0.1:$hubish_PORT\",role=\"origin\"}" "$OP"
}

pull first || die "first pull"
[[ $(remaining) == 76 ]] || die "remaining after the first pull: $(remaining)"
echo "ratelimit 100 75" >"$hubish_CTL"
: >"$T/hubish-requests.log"
sleep 1.2  # tag_ttl lapses: the next pull revalidates
pull second || die "second pull"
[[ $(remaining) == 75 ]] || die "remaining after the revalidation: $(remaining)"
grep -q '^HEAD /v2/test/app/manifests/v1' "$T/hubish-requests.log" || die "no HEAD revalidation: $(cat "$T/hubish-requests.log")"
! grep -q '^GET /v2/test/app/manifests/' "$T/hubish-requests.log" ||
  die "a manifest GET (a counted pull) where a HEAD answered: $(cat "$T/hubish-requests.log")"
"$OUTPOST_BIN" status --server "http://127.0.0.1:$OP" | grep_q 'rate limit at .*: 75 of 100 pulls left per 6 h (for 192.0.2.7)' ||
  die "outpost status does not show the rate limit: $("$OUTPOST_BIN" status --server "http://127.0.0.1:$OP")"
curl -fsS "http://127.0.0.1:$OP/api/v1/status" | python3 -c '
import json, sys
u = [u for u in json.load(sys.stdin)["upstreams"] if u["name"] == "upstream.test"][0]
rl = u["sources"][-1]["rate_limit"]
assert (rl["limit"], rl["remaining"], rl["window_seconds"], rl["source"]) == (100, 75, 21600, "192.0.2.7"), rl
' || die "the status API does not carry the rate limit"
log "ok"
