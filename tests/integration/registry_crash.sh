#!/usr/bin/env bash
# kill -9 in the middle of a large blob download: after restart no partial blob is visible,
# tmp/ is swept, a re-pull succeeds with the right bytes, and `outpost fsck` is clean.
source "$(dirname "$0")/lib.sh"

start_registry up
start_proxy px "$up_PORT"
push_test_image test/big big 32 1
layer=$LAYER
hex=${layer#sha256:}
start_registry_outpost "http://127.0.0.1:$px_PORT"
url="http://127.0.0.1:$OP/v2/upstream.test/test/big/blobs/$layer"

for round in 1 2 3; do
  echo "rate 8000000" >"$px_CTL"  # ~4 s for the blob: plenty of time to kill mid-way
  curl -s -o "$T/partial.$round" "$url" &
  cpid=$!
  # wait until the download is under way (bytes in tmp/), then kill -9 at a varying point
  for _ in $(seq 200); do
    [[ -n $(find "$T/data/tmp" -type f -size +$((round * 500))k 2>/dev/null) ]] && break
    sleep 0.05
  done
  [[ -n $(ls -A "$T/data/tmp") ]] || die "download never started"
  log "round $round: kill -9 with $(du -b "$T/data/tmp" | cut -f1) bytes in flight"
  kill -KILL "$op_PID"
  wait "$cpid" && die "client got a complete body from a killed server" || true
  [[ ! -e $T/data/blobs/sha256/${hex:0:2}/$hex ]] || die "partial blob visible after crash"
  "$OUTPOST_BIN" fsck --data-dir "$T/data" >"$T/fsck.$round" || die "fsck not clean after crash: $(cat "$T/fsck.$round")"
  start_outpost op "$T/outpost.yaml"
done

log "SIGTERM mid-download: exits 0, publishes nothing half-done, leaves no temp file"
echo "rate 8000000" >"$px_CTL"
curl -s -o /dev/null "$url" &
cpid=$!
for _ in $(seq 200); do [[ -n $(find "$T/data/tmp" -type f -size +500k 2>/dev/null) ]] && break; sleep 0.05; done
kill -TERM "$op_PID"
wait "$op_PID" || die "serve exited non-zero on SIGTERM"
wait "$cpid" && die "client got a complete body during shutdown" || true
[[ ! -e $T/data/blobs/sha256/${hex:0:2}/$hex ]] || die "half-done blob published on SIGTERM"
[[ -z $(ls -A "$T/data/tmp") ]] || die "temp file left after SIGTERM: $(ls "$T/data/tmp")"
start_outpost op "$T/outpost.yaml"

echo pass >"$px_CTL"
[[ -z $(ls -A "$T/data/tmp") ]] || die "tmp/ not swept at start"
curl -sf -o "$T/full" "$url" || die "re-pull failed"
[[ $(sha256sum "$T/full" | cut -d' ' -f1) == "$hex" ]] || die "re-pulled bytes wrong"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/big:big" "dir:$T/img" || die "image pull after crashes"
stop_pid "$op_PID"
"$OUTPOST_BIN" fsck --data-dir "$T/data" >"$T/fsck.final" || die "final fsck: $(cat "$T/fsck.final")"
grep -q 'fsck: clean' "$T/fsck.final" || die "fsck output: $(cat "$T/fsck.final")"
log "$(head -1 "$T/fsck.final")"
log "ok"
