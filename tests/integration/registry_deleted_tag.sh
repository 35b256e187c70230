#!/usr/bin/env bash
# A tag deleted upstream (docker-registry's DELETE API) after Outpost cached it: with
# registry.keep_deleted_tags (the default) the cached image is still served, counted in a metric
# and listed by the status API and `outpost status`; with keep_deleted_tags: false the pull fails
# as it would upstream.
source "$(dirname "$0")/lib.sh"

start_registry up
python3 "$TOOLS/make_image.py" "$T/layout" gone --layer-mb 1 --layers 1 --seed gone >/dev/null
push_image "$T/layout" gone "$up_PORT" test/app
digest=$(curl -fsSI -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://127.0.0.1:$up_PORT/v2/test/app/manifests/gone" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest" {print $2}')
[[ $digest == sha256:* ]] || die "no digest for test/app:gone"

KEEP=$(free_port)
write_outpost_config "$T/keep.yaml" "$KEEP" "$T/keep-data" upstream.test "http://127.0.0.1:$up_PORT" "tag_ttl: 1s" "revalidate: inline"
start_outpost keep "$T/keep.yaml"
STRICT=$(free_port)
write_outpost_config "$T/strict.yaml" "$STRICT" "$T/strict-data" upstream.test "http://127.0.0.1:$up_PORT" \
  "tag_ttl: 1s" "revalidate: inline" "keep_deleted_tags: false"
start_outpost strict "$T/strict.yaml"
pull() { skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$1/upstream.test/test/app:gone" "dir:$T/$2"; }
pull "$KEEP" keep-1 || die "first pull (keep)"
pull "$STRICT" strict-1 || die "first pull (strict)"

log "the tag is deleted upstream"
curl -fsS -X DELETE "http://127.0.0.1:$up_PORT/v2/test/app/manifests/$digest" || die "upstream refused the delete"
curl -fsI "http://127.0.0.1:$up_PORT/v2/test/app/manifests/gone" >/dev/null 2>&1 && die "the tag is still upstream"
sleep 1.2  # tag_ttl lapses: the next pull revalidates

pull "$KEEP" keep-2 || die "keep_deleted_tags: the cached image is not served"
diff -r "$T/keep-1" "$T/keep-2" >/dev/null || die "keep_deleted_tags served other bytes"
[[ $(metric 'outpost_registry_deleted_tags_served_total{upstream="upstream.test"}' "$KEEP") == 1 ]] ||
  die "the deleted tag's pull is not counted"
curl -fsS "http://127.0.0.1:$KEEP/api/v1/status" | python3 -c '
import json, sys
d = json.load(sys.stdin)["deleted_tags"]
assert [(t["repo"], t["tag"], t["digest"]) for t in d] == [("test/app", "gone", sys.argv[1])], d
' "$digest" || die "the status API does not list the deleted tag"
"$OUTPOST_BIN" status --server "http://127.0.0.1:$KEEP" | grep_q "upstream.test/test/app:gone" ||
  die "outpost status does not list the deleted tag"
log "keep_deleted_tags: served, counted and listed"

pull "$STRICT" strict-2 2>"$T/strict.err" && die "keep_deleted_tags: false still served the deleted tag"
grep -qi 'manifest unknown' "$T/strict.err" || die "unclear error: $(cat "$T/strict.err")"
log "keep_deleted_tags: false answers as upstream: $(tail -1 "$T/strict.err")"
log "ok"
