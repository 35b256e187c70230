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

log "tags/list in pages of 100, following Link: every tag once, in order"
python3 - "$A" "$T/direct-tags.json" <<'PY' || die "paging tags/list"
import json, sys, urllib.request
base, direct = sys.argv[1], sorted(json.load(open(sys.argv[2]))["tags"])
url, got, pages = base + "/v2/upstream.test/test/tagged/tags/list?n=100", [], 0
while url:
    with urllib.request.urlopen(url) as r:
        got += json.load(r)["tags"]
        link = r.headers.get("Link")
    pages += 1
    url = base + link[1:link.index(">")] if link else None
assert got == direct, (len(got), len(direct))
print(f"{pages} pages, {len(got)} tags")
PY

log "2,001 tags pulled through Outpost: the inventory lists them a page at a time"
python3 - "$OP" <<'PY' || die "pulling every tag"
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
c.request("GET", "/v2/upstream.test/test/tagged/tags/list")
tags = json.load(c.getresponse())["tags"]
for t in tags:
    c.request("GET", f"/v2/upstream.test/test/tagged/manifests/{t}",
              headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    r = c.getresponse(); r.read()
    assert r.status == 200, (t, r.status)
PY
python3 - "$A" <<'PY' || die "paging /api/v1/images"
import json, sys, urllib.request, urllib.parse
base = sys.argv[1]
url, names, total = base + "/api/v1/images?n=300", [], None
while url:
    with urllib.request.urlopen(url) as r:
        page = json.load(r)
        link = r.headers.get("Link")
    total = page["total"]
    for u in page["upstreams"]:
        for repo in u["repositories"]:
            names += [f'{u["name"]}/{repo["name"]}:{t["tag"]}' for t in repo["tags"]]
    assert bool(link) == ("next" in page), (link, page.get("next"))
    url = base + link[1:link.index(">")] if link else None
assert names == sorted(names) and len(names) == len(set(names)), "pages overlap or are out of order"
assert len(names) == total >= 2003, (len(names), total)
with urllib.request.urlopen(base + "/api/v1/images?n=5&q=" + urllib.parse.quote("TAGGED 00001999")) as r:
    hits = [t["tag"] for u in json.load(r)["upstreams"] for repo in u["repositories"] for t in repo["tags"]]
assert hits == ["build-2026-12-06-commit-00001999-a1b2c3d4"], hits
print(f"{len(names)} image tags in pages of 300")
PY
"$OUTPOST_BIN" images --server "$A" >"$T/images.txt" 2>"$T/images.err" || die "images --server: $(cat "$T/images.err")"
lines=$(grep -c '^upstream\.test/test/tagged:' "$T/images.txt")
((lines == 2001)) || die "outpost images --server listed $lines tags of test/tagged"
grep_q -E '^2004 image tags, 2004 held whole here$' "$T/images.txt" ||
  die "no summary: $(tail -1 "$T/images.txt")"
log "outpost images --server: $(tail -1 "$T/images.txt")"

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
