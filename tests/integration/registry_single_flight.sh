#!/usr/bin/env bash
# 20 concurrent cold GETs of one large blob: exactly one upstream GET, all 20 clients get the
# right bytes (streamed while the single download is still running).
source "$(dirname "$0")/lib.sh"

start_registry up
start_proxy px "$up_PORT"
push_test_image test/big big 48 1
layer=$LAYER
start_registry_outpost "http://127.0.0.1:$px_PORT"

echo "rate 25000000" >"$px_CTL"  # ~2 s download: the 20 clients overlap it
log "20 concurrent cold GETs of $layer"
pids=()
for i in $(seq 20); do
  curl -sf -o "$T/get.$i" "http://127.0.0.1:$OP/v2/upstream.test/test/big/blobs/$layer" &
  pids+=("$!")
done
for p in "${pids[@]}"; do wait "$p" || die "a client failed"; done
want=${layer#sha256:}
for i in $(seq 20); do
  got=$(sha256sum "$T/get.$i" | cut -d' ' -f1)
  [[ $got == "$want" ]] || die "client $i got wrong bytes ($got)"
done
n=$(upstream_gets "$T/up.log" "blobs/$layer")
log "upstream GETs of the blob: $n"
[[ $n == 1 ]] || die "expected exactly 1 upstream GET, saw $n"
[[ -f $T/data/blobs/sha256/${want:0:2}/$want ]] || die "blob not published"
upbytes=$(metric 'outpost_upstream_bytes_total{upstream="upstream.test"}' "$OP")
log "upstream bytes: $upbytes for a $(stat -c %s "$T/get.1")-byte blob"
log "ok"
