#!/usr/bin/env bash
# Upstream misbehaviour: wrong bytes for a digest are never published and every client's
# transfer fails; a connection dropped mid-blob is resumed with Range, not restarted.
source "$(dirname "$0")/lib.sh"

start_registry up
start_proxy px "$up_PORT"
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 8 --layers 2 >/dev/null
python3 "$TOOLS/make_image.py" "$T/layout" r1 --layer-mb 8 --layers 1 >/dev/null
push_image "$T/layout" v1 "$up_PORT" test/app
push_image "$T/layout" r1 "$up_PORT" test/app
resume_layer=$(upstream_layers "$up_PORT" test/app r1 | sed -n 1p)
mapfile -t layers < <(upstream_layers "$up_PORT" test/app v1)

OP=$(free_port)
write_outpost_config "$T/outpost.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:$px_PORT"
start_outpost op "$T/outpost.yaml"
url() { echo "http://127.0.0.1:$OP/v2/upstream.test/test/app/blobs/$1"; }

log "--- upstream serves wrong bytes for ${layers[0]}"
bad=${layers[0]#sha256:}
data=$T/up/data/docker/registry/v2/blobs/sha256/${bad:0:2}/$bad/data
size=$(stat -c %s "$data")
head -c "$size" /dev/urandom >"$data"
pids=()
for i in 1 2 3; do
  curl -s -o "$T/bad.$i" "$(url "${layers[0]}")" &
  pids+=("$!")
done
for i in 0 1 2; do
  if wait "${pids[$i]}"; then die "client $i received a complete body of unverified bytes"; fi
done
[[ ! -e $T/data/blobs/sha256/${bad:0:2}/$bad ]] || die "corrupt blob was published"
[[ -z $(ls -A "$T/data/tmp") ]] || die "temp file left behind: $(ls "$T/data/tmp")"
[[ $(metric 'outpost_registry_digest_mismatch_total{upstream="upstream.test"}' "$OP") -ge 1 ]] || die "mismatch not counted"
if skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/app:v1" "dir:$T/skopeo-bad" 2>"$T/skopeo.err"; then
  die "skopeo pull succeeded with a corrupt layer"
fi
log "skopeo says: $(tail -c 300 "$T/skopeo.err")"

log "--- upstream drops the connection mid-blob: resumed with Range"
good=${resume_layer#sha256:}
echo "cutonce 3000000" >"$px_CTL"
curl -sf -o "$T/resumed" "$(url "$resume_layer")" || die "resumed download failed"
[[ $(sha256sum "$T/resumed" | cut -d' ' -f1) == "$good" ]] || die "resumed download has wrong bytes"
resumes=$(metric 'outpost_registry_fetch_resumes_total{upstream="upstream.test"}' "$OP")
[[ $resumes -ge 1 ]] || die "no resume counted"
gets=$(upstream_gets "$T/up.log" "blobs/$resume_layer")
upbytes=$(metric 'outpost_upstream_bytes_total{upstream="upstream.test"}' "$OP")
log "resumes=$resumes upstream GETs=$gets upstream bytes total=$upbytes"
[[ $gets == 2 ]] || die "expected the first GET and one ranged resume, saw $gets GETs"
log "ok"
