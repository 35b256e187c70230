#!/usr/bin/env bash
# Releases v1..v4 imported with keep_releases=3 into a data dir on a small filesystem: the
# watermark GC of a running Outpost evicts v1's unique blobs (no longer pinned) and nothing
# pinned; v2-v4 stay fully pullable with the upstream stopped.
source "$(dirname "$0")/lib.sh"

start_registry up
python3 "$TOOLS/make_image.py" "$T/layout" base --layer-mb 2 --layers 1 >/dev/null
push_image "$T/layout" base "$up_PORT" test/base
for v in 1 2 3 4; do
  python3 "$TOOLS/make_image.py" "$T/layout" "v$v" --layer-mb 6 --layers 1 --seed "rel$v" >/dev/null
  push_image "$T/layout" "v$v" "$up_PORT" test/app
done
write_outpost_config "$T/create.yaml" "$(free_port)" "$T/create-data" upstream.test "http://127.0.0.1:$up_PORT"
for v in 1 2 3 4; do
  "$OUTPOST_BIN" bundle create --config "$T/create.yaml" --name shop --version "v$v" \
    --image upstream.test/test/app:v$v --image upstream.test/test/base:base -o "$T/v$v.tar" 2>>"$T/create.log" ||
    die "create v$v: $(tail -3 "$T/create.log")"
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$up_PORT/test/app:v$v" "dir:$T/direct-v$v"
done
stop_pid "$up_PID"

mkdir -p "$T/small"
mount -t tmpfs -o size=48m tmpfs "$T/small" || die "cannot mount a small tmpfs (needs root)"
cleanup_mount() { umount -l "$T/small" 2>/dev/null || true; }
trap 'rc=$?; cleanup_mount; (exit $rc); cleanup' EXIT  # keep the test's exit status
OP=$(free_port)
write_outpost_config "$T/serve.yaml" "$OP" "$T/small/data" upstream.test "http://127.0.0.1:$up_PORT"
cat >>"$T/serve.yaml" <<YAML
storage:
  keep_releases: 3
  gc_high_watermark: 0.5
  gc_low_watermark: 0.4
  gc_interval: 200ms
YAML
for v in 1 2 3 4; do
  "$OUTPOST_BIN" bundle import --config "$T/serve.yaml" "$T/v$v.tar" 2>"$T/import-v$v.log" || die "import v$v: $(cat "$T/import-v$v.log")"
done
grep -q 'release shop v1 is no longer pinned' "$T/import-v4.log" || die "retention did not drop v1: $(cat "$T/import-v4.log")"
v1_layer=$(python3 -c "
import json
m=json.load(open('$T/direct-v1/manifest.json'))
print(max(m['layers'], key=lambda l: l['size'])['digest'].split(':')[1])")
[[ -f $T/small/data/blobs/sha256/${v1_layer:0:2}/$v1_layer ]] || die "v1 layer missing before GC"
log "disk use before GC: $(df --output=pcent "$T/small" | tail -1)"

start_outpost op "$T/serve.yaml"
for _ in $(seq 100); do [[ -f $T/small/data/blobs/sha256/${v1_layer:0:2}/$v1_layer ]] || break; sleep 0.1; done
[[ ! -f $T/small/data/blobs/sha256/${v1_layer:0:2}/$v1_layer ]] || die "watermark GC did not evict v1's unique layer"
log "disk use after GC: $(df --output=pcent "$T/small" | tail -1)"
for v in 2 3 4; do
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/app:v$v" "dir:$T/offline-v$v" ||
    die "v$v not pullable offline after GC"
  diff -r "$T/direct-v$v" "$T/offline-v$v" >/dev/null || die "v$v differs"
done
if skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/app:v1" "dir:$T/offline-v1" 2>/dev/null; then
  die "v1 still fully pullable: its unique blobs were not evicted"
fi
stop_pid "$op_PID"
"$OUTPOST_BIN" fsck --data-dir "$T/small/data" >"$T/fsck" || die "fsck after GC: $(cat "$T/fsck")"
log "ok"
