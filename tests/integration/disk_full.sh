#!/usr/bin/env bash
# A full disk: the data dir sits on a 24 MB tmpfs that something else fills up. A cold pull and a
# bundle import that need more room than is left fail cleanly (the client sees an error, never a
# complete wrong body), publish and pin nothing, leave no temp files; what was cached before is
# still served; when space returns the same pull and import succeed. fsck is clean throughout.
source "$(dirname "$0")/lib.sh"

start_registry up
python3 "$TOOLS/make_image.py" "$T/layout" keep --layer-mb 1 --layers 1 --seed keep >/dev/null
python3 "$TOOLS/make_image.py" "$T/layout" big --layer-mb 10 --layers 1 --seed big >/dev/null
push_image "$T/layout" keep "$up_PORT" test/keep
push_image "$T/layout" big "$up_PORT" test/big
for img in keep big; do
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$up_PORT/test/$img:$img" "dir:$T/direct-$img"
done
mkdir -p "$T/www"
write_outpost_config "$T/create.yaml" "$(free_port)" "$T/create-data" upstream.test "http://127.0.0.1:$up_PORT"
"$OUTPOST_BIN" bundle create --config "$T/create.yaml" --name big --version v1 \
  --image upstream.test/test/big:big -o "$T/www/big-v1.tar" 2>"$T/create.log" || die "bundle create"

mkdir -p "$T/small"
mount -t tmpfs -o size=24m tmpfs "$T/small" || die "cannot mount a small tmpfs (needs root)"
CLEANUP_CMDS+=("umount -l $T/small")
OP=$(free_port)
write_outpost_config "$T/serve.yaml" "$OP" "$T/small/data" upstream.test "http://127.0.0.1:$up_PORT"
cat >>"$T/serve.yaml" <<YAML
bundle:
  allowed_sources: ["$T/www/"]
  download_attempts: 1
YAML
start_outpost op "$T/serve.yaml"
API=http://127.0.0.1:$OP
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/keep:keep" "dir:$T/warm-keep" ||
  die "warm pull"

avail=$(df --output=avail -B1 "$T/small" | tail -1)
fill=$((avail / 1048576 - 4))
dd if=/dev/zero of="$T/small/filler" bs=1M count="$fill" status=none 2>/dev/null || true
log "disk filled: $(df -h --output=used,avail "$T/small" | tail -1) (a 10 MB layer will not fit)"

log "a cold pull that does not fit fails cleanly"
layer=$(upstream_layers "$up_PORT" test/big big | sed -n 1p)
hex=${layer#sha256:}
curl -s -o "$T/big-blob" -w '%{http_code}' "$API/v2/upstream.test/test/big/blobs/$layer" >"$T/code" && curl_rc=0 || curl_rc=$?
log "blob GET: HTTP $(cat "$T/code"), curl exit $curl_rc, $(stat -c %s "$T/big-blob" 2>/dev/null || echo 0) bytes"
if [[ $curl_rc == 0 && $(cat "$T/code") == 200 ]]; then
  [[ $(sha256sum <"$T/big-blob" | cut -d' ' -f1) != "$hex" ]] || die "a blob that cannot be stored was served complete"
  die "the client was told the transfer completed"
fi
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/big:big" "dir:$T/full-big" 2>/dev/null &&
  die "pull succeeded on a full disk"
[[ ! -e $T/small/data/blobs/sha256/${hex:0:2}/$hex ]] || die "a partial blob was published"
for _ in $(seq 50); do [[ -z $(ls -A "$T/small/data/tmp") ]] && break; sleep 0.1; done
[[ -z $(ls -A "$T/small/data/tmp") ]] || die "temp files left on a full disk: $(ls -la "$T/small/data/tmp")"
grep -qi 'no space\|storage full' "$T/op.log" || die "no clear error in the log"

log "a bundle import that does not fit fails with a clear message and pins nothing"
"$OUTPOST_BIN" bundle ensure --server "$API" --source "$T/www/big-v1.tar" --name big --version v1 \
  --timeout 1m 2>"$T/ensure-full.log" && die "import succeeded on a full disk"
grep -qi 'space' "$T/ensure-full.log" || die "unclear: $(cat "$T/ensure-full.log")"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$API/api/v1/releases/big/v1") != 200 ]] ||
  grep -q '"failed"' <(curl -s "$API/api/v1/releases/big/v1") || die "release recorded on a full disk"

log "what was cached is still served"
curl -sf "$API/healthz" >/dev/null || die "server down"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/keep:keep" "dir:$T/still-keep" ||
  die "cached image not served on a full disk"
diff -r "$T/direct-keep" "$T/still-keep" >/dev/null || die "cached image differs"

log "space returns: the same pull and import succeed"
rm -f "$T/small/filler"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/big:big" "dir:$T/after-big" ||
  die "pull after space returned"
diff -r "$T/direct-big" "$T/after-big" >/dev/null || die "big differs"
"$OUTPOST_BIN" bundle ensure --server "$API" --source "$T/www/big-v1.tar" --name big --version v1 \
  --timeout 1m 2>"$T/ensure.log" || die "import after space returned: $(cat "$T/ensure.log")"
stop_pid "$op_PID"
"$OUTPOST_BIN" fsck --data-dir "$T/small/data" >"$T/fsck" || die "fsck: $(cat "$T/fsck")"
grep -q 'fsck: clean' "$T/fsck" || die "fsck: $(cat "$T/fsck")"
log "ok"
