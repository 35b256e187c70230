#!/usr/bin/env bash
# Real sizes through the registry mirror, against docker-registry: a repository with 2,000 tags
# of about 40 characters (a tag list of about 90 KB) and an image of 500 layers (a manifest of
# about 80 KB). Both are served whole, and neither marks the upstream down: a cold pull of
# another image right after them works, and the status shows the upstream up. With the upstream
# stopped, the tag list says it is not upstream's current one (a Warning header and
# X-Outpost-Tags: stale, or partial for a repository never listed here).
source "$(dirname "$0")/lib.sh"

start_registry up
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 0.01 --layers 1 --seed tags >/dev/null
python3 "$TOOLS/make_image.py" "$T/layout" wide --layer-mb 0.001 --layers 500 --seed wide >/dev/null
python3 "$TOOLS/make_image.py" "$T/layout" other --layer-mb 1 --layers 2 --seed other >/dev/null
push_image "$T/layout" v1 "$up_PORT" test/tagged
push_image "$T/layout" v1 "$up_PORT" test/pulled-only
push_image "$T/layout" wide "$up_PORT" test/wide
push_image "$T/layout" other "$up_PORT" test/other
python3 "$TOOLS/push_tags.py" "$up_PORT" test/tagged v1 2000 >/dev/null || die "tagging upstream"
curl -fsS "http://127.0.0.1:$up_PORT/v2/test/tagged/tags/list" -o "$T/direct-tags.json"
bytes=$(stat -c %s "$T/direct-tags.json")
((bytes > 65536)) || die "the upstream tag list is only $bytes bytes"
manifest_bytes=$(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://127.0.0.1:$up_PORT/v2/test/wide/manifests/wide" | wc -c)
((manifest_bytes > 65536)) || die "the 500-layer manifest is only $manifest_bytes bytes"

OP=$(free_port)
write_outpost_config "$T/outpost.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:$up_PORT" "tag_ttl: 1s"
start_outpost op "$T/outpost.yaml"
A=http://127.0.0.1:$OP
sorted_tags() { python3 -c 'import json,sys; print("\n".join(sorted(json.load(open(sys.argv[1]))["tags"])))' "$1"; }
upstream_up() {
  curl -fsS "$A/api/v1/status" | python3 -c '
import json, sys
ups = [u for u in json.load(sys.stdin)["upstreams"] if u["name"] == "upstream.test"]
assert ups and ups[0]["up"], ups' || die "$1: the upstream is marked down: $(curl -fsS "$A/api/v1/status" | head -c 600)"
}

log "a tag list of $bytes bytes (2,001 tags)"
curl -fsS -D "$T/tags.h" "$A/v2/upstream.test/test/tagged/tags/list" -o "$T/tags.json" || die "tags/list failed"
[[ $(sorted_tags "$T/tags.json") == "$(sorted_tags "$T/direct-tags.json")" ]] || die "the tag list differs from upstream's"
grep -qi '^Warning' "$T/tags.h" && die "an online tag list carries a warning"
upstream_up "after the tag list"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/other:other" "dir:$T/other" ||
  die "a cold pull of another image after the tag list failed"
log "a manifest of $manifest_bytes bytes (500 layers)"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/wide:wide" "dir:$T/wide" ||
  die "the 500-layer image did not pull"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$up_PORT/test/wide:wide" "dir:$T/wide-direct" >/dev/null
diff -r "$T/wide" "$T/wide-direct" >/dev/null || die "the 500-layer image differs from upstream's"
upstream_up "after the 500-layer manifest"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/pulled-only:v1" "dir:$T/po" ||
  die "a pull after the 500-layer manifest failed"
errors=$(curl -fsS "$A/metrics" | grep '^outpost_upstream_errors_total{' || true)
[[ -z $errors ]] || die "answers within their bounds counted as upstream errors: $errors"

log "upstream stopped: the tag list says what it is"
stop_pid "$up_PID"
sleep 1.2  # tag_ttl lapses: the stored list is no longer upstream's current one
curl -fsS -D "$T/off.h" "$A/v2/upstream.test/test/tagged/tags/list" -o "$T/off.json" || die "offline tags/list failed"
[[ $(sorted_tags "$T/off.json") == "$(sorted_tags "$T/direct-tags.json")" ]] || die "the offline tag list differs"
grep -qi '^X-Outpost-Tags: stale' "$T/off.h" || die "no stale marker: $(cat "$T/off.h")"
grep -qi '^Warning: 299 - ".*unreachable' "$T/off.h" || die "no Warning header: $(cat "$T/off.h")"
curl -fsS -D "$T/po.h" "$A/v2/upstream.test/test/pulled-only/tags/list" -o "$T/po.json" || die "offline tags/list of a pulled repository"
[[ $(sorted_tags "$T/po.json") == v1 ]] || die "pulled-only tags: $(cat "$T/po.json")"
grep -qi '^X-Outpost-Tags: partial' "$T/po.h" || die "no partial marker: $(cat "$T/po.h")"
log "offline: $(grep -i '^Warning' "$T/po.h" | tr -d '\r')"
log "ok"
