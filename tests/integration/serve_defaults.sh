#!/usr/bin/env bash
# `outpost serve` with no config runs on its embedded default (./outpost-data, default
# upstreams), answers health/readiness/metrics, and stops cleanly on SIGTERM; config errors name
# the key and exit non-zero; --help answers.
source "$(dirname "$0")/lib.sh"

"$OUTPOST_BIN" --help | grep_q 'serve' || die "--help does not list serve"
"$OUTPOST_BIN" serve --help | grep_q 'outpost-data' || die "serve --help does not explain the default"

echo "registry:
  tag_ttl: soon" >"$T/bad.yaml"
if "$OUTPOST_BIN" serve --config "$T/bad.yaml" 2>"$T/bad.err"; then die "bad config accepted"; fi
grep -q 'registry.tag_ttl' "$T/bad.err" || die "config error does not name the key: $(cat "$T/bad.err")"

mkdir -p "$T/cwd"
cd "$T/cwd"
OP=$(free_port)
# Only the port is overridden (the embedded 8080 may be taken on a shared machine).
OUTPOST_LISTEN=127.0.0.1:$OP OUTPOST_LOG_FORMAT=json "$OUTPOST_BIN" serve >"$T/op.log" 2>&1 &
pid=$!
PIDS+=("$pid")
wait_http "http://127.0.0.1:$OP/healthz"
[[ -f $T/cwd/outpost-data/meta.db ]] || die "no ./outpost-data/meta.db"
[[ -d $T/cwd/outpost-data/blobs/sha256 && -d $T/cwd/outpost-data/tmp ]] || die "data dir layout"
curl -sf "http://127.0.0.1:$OP/readyz" | grep_q ready || die "/readyz"
curl -sf "http://127.0.0.1:$OP/v2/" >/dev/null || die "/v2/"
curl -sf "http://127.0.0.1:$OP/metrics" >"$T/metrics"
for m in outpost_http_requests_total outpost_http_response_bytes_total outpost_registry_cache_total \
  outpost_upstream_errors_total outpost_upstream_up outpost_registry_fetches_in_flight outpost_store_bytes; do
  grep -q "^# TYPE $m " "$T/metrics" || die "metric $m missing"
done
for u in docker.io ghcr.io quay.io registry.k8s.io; do
  grep -q "outpost_upstream_up{upstream=\"$u\"}" "$T/metrics" || die "default upstream $u missing"
done
# Nothing has been pulled: no upstream of any kind was contacted, and none claims to be "up since".
"$OUTPOST_BIN" status --server "http://127.0.0.1:$OP" >"$T/status.txt" || true
for u in docker.io ghcr.io quay.io registry.k8s.io github.com gitlab.com; do
  grep -E "^  [a-z]+ +$u +not used yet" "$T/status.txt" >/dev/null ||
    die "upstream $u is not 'not used yet': $(grep " $u " "$T/status.txt")"
done
curl -sf "http://127.0.0.1:$OP/api/v1/status" | python3 -c '
import json, sys
for u in json.load(sys.stdin)["upstreams"]:
    assert u["contacted"] is False and u["since"] is None, u' || die "/api/v1/status claims a contact"
python3 -c "import json,sys; [json.loads(l) for l in open('$T/op.log') if l.strip()]" || die "json log lines do not parse"
grep -q '"logger":"outpost","msg":"access ' "$T/op.log" || die "no access log line"
kill -TERM "$pid"
wait "$pid" || die "serve exited non-zero on SIGTERM"
log "ok"
