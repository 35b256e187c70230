#!/usr/bin/env bash
# A release asked of one replica of a three-replica site cluster becomes ready on all three, and
# the origin sends each of its blobs once: `bundle ensure` against replica 1 exits 0 only when
# every live replica is ready; the others take the release from the cluster
# (oci://outpost.releases/shop:v1). With a replica down, the live ones are what counts, and
# --min-replicas asks for more.
source "$(dirname "$0")/lib.sh"

shop_v1_and_hub  # the origin with the images and oci://upstream.test/bundles/shop:v1 (no hub here)
cp "$T/up.log" "$T/up.log.before"  # bundle create read every blob once

start_cluster "http://127.0.0.1:$up_PORT"

log "bundle ensure against replica 1"
"$OUTPOST_BIN" bundle ensure --server "http://127.0.0.1:${P[1]}" --source oci://upstream.test/bundles/shop:v1 \
  --name shop --version v1 --timeout 2m 2>"$T/ensure.log" || die "ensure: $(cat "$T/ensure.log")"
grep -q 'ready on 3 of 3 live replicas' "$T/ensure.log" || die "ensure did not wait for 3 replicas: $(cat "$T/ensure.log")"
for i in 1 2 3; do
  "$OUTPOST_BIN" bundle ensure --server "http://127.0.0.1:${P[$i]}" --name shop --version v1 --check >"$T/check-$i" ||
    die "replica $i: $(cat "$T/check-$i")"
  n=$(find "$T/r$i-data/blobs" -type f | wc -l)
  log "replica $i holds $n blobs"
done
new_gets=$(diff <(grep -o '"GET /v2/[^ ]*/blobs/sha256:[0-9a-f]*' "$T/up.log.before" | sort) \
  <(grep -o '"GET /v2/[^ ]*/blobs/sha256:[0-9a-f]*' "$T/up.log" | sort) | grep '^>' | sort | uniq -c | sort -rn || true)
[[ -n $new_gets ]] || die "the origin sent no blob"
[[ $(head -1 <<<"$new_gets" | awk '{print $1}') == 1 ]] || die "the origin sent a blob more than once: $new_gets"
log "the origin sent each of $(wc -l <<<"$new_gets") blobs once for 3 replicas"

log "a replica down: the live ones count"
stop_pid "$r3_PID"
"$OUTPOST_BIN" bundle ensure --server "http://127.0.0.1:${P[1]}" --name shop --version v1 --check >"$T/check-down" ||
  die "with replica 3 down: $(cat "$T/check-down")"
grep -q 'ready on 2 of 2 live replicas' "$T/check-down" || die "unexpected: $(cat "$T/check-down")"
"$OUTPOST_BIN" bundle ensure --server "http://127.0.0.1:${P[1]}" --name shop --version v1 --check --min-replicas 3 \
  >"$T/check-min" && die "--min-replicas 3 with 2 live replicas passed: $(cat "$T/check-min")"
curl -fsS "http://127.0.0.1:${P[1]}/api/v1/releases/shop/v1" | python3 -c '
import json, sys
j = json.load(sys.stdin)
states = {r["replica"]: r["state"] for r in j["replicas"]}
assert list(states.values()).count("ready") == 2 and list(states.values()).count("unreachable") == 1, states
' || die "the release status does not list each replica"
# peers' releases are polled every 2 s: wait for replica 2's to show
for _ in $(seq 100); do
  "$OUTPOST_BIN" status --server "http://127.0.0.1:${P[1]}" >"$T/status.txt" || true
  grep -q "127.0.0.1:${P[2]} *up since .*1 releases ready" "$T/status.txt" && break
  sleep 0.1
done
grep -q '^Site cluster' "$T/status.txt" || die "outpost status shows no cluster: $(cat "$T/status.txt")"
grep -q "127.0.0.1:${P[2]} *up since .*1 releases ready" "$T/status.txt" || die "peer 2 not shown up: $(cat "$T/status.txt")"
grep -q "127.0.0.1:${P[3]} *DOWN" "$T/status.txt" || die "peer 3 not shown down: $(cat "$T/status.txt")"
metric "outpost_cluster_peer_up{peer=\"http://127.0.0.1:${P[2]}\"}" "${P[1]}" | grep_q -x 1 ||
  die "no outpost_cluster_peer_up for peer 2"
log "ok"
