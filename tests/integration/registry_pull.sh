#!/usr/bin/env bash
# skopeo copies of single- and multi-arch images through Outpost (path-prefix route) are
# byte-identical to direct copies from the upstream docker-registry.
source "$(dirname "$0")/lib.sh"

start_app_registry

OP=$(free_port)
write_outpost_config "$T/outpost.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:$up_PORT"
start_outpost op "$T/outpost.yaml"

compare() {  # compare DIR_A DIR_B
  diff -r "$1" "$2" >/dev/null || die "copies differ: $1 vs $2"
}

log "single-arch: direct vs through Outpost"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$up_PORT/test/app:v1" "dir:$T/direct-v1"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/app:v1" "dir:$T/outpost-v1"
compare "$T/direct-v1" "$T/outpost-v1"
log "single-arch again (warm)"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/app:v1" "dir:$T/outpost-v1-warm"
compare "$T/direct-v1" "$T/outpost-v1-warm"

log "multi-arch --all: direct vs through Outpost"
skopeo_ copy -q --all --src-tls-verify=false "docker://127.0.0.1:$up_PORT/test/app:multi" "dir:$T/direct-multi"
skopeo_ copy -q --all --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/app:multi" "dir:$T/outpost-multi"
compare "$T/direct-multi" "$T/outpost-multi"

log "manifest headers: exact media type, digest, length"
hdr=$(curl -sI -H 'Accept: application/vnd.oci.image.index.v1+json' "http://127.0.0.1:$OP/v2/upstream.test/test/app/manifests/multi")
echo "$hdr" | grep_q -i '^content-type: application/vnd.oci.image.index.v1+json' || die "wrong content type: $hdr"
want=$(curl -sI -H 'Accept: application/vnd.oci.image.index.v1+json' "http://127.0.0.1:$up_PORT/v2/test/app/manifests/multi" | grep -i docker-content-digest | tr -d '\r' | awk '{print $2}')
echo "$hdr" | grep_q -i "docker-content-digest: $want" || die "digest header differs from upstream ($want): $hdr"

log "blob Range -> 206"
layer=$(python3 -c "import json;m=json.load(open('$T/direct-v1/manifest.json'));print(m['layers'][0]['digest'])")
code=$(curl -s -o "$T/range.bin" -w '%{http_code}' -H 'Range: bytes=10-19' "http://127.0.0.1:$OP/v2/upstream.test/test/app/blobs/$layer")
[[ $code == 206 && $(stat -c %s "$T/range.bin") == 10 ]] || die "range request gave $code"
cmp <(tail -c +11 "$T/direct-v1/${layer#sha256:}" | head -c 10) "$T/range.bin" || die "range bytes differ"

log "tags/list with paging"
curl -s "http://127.0.0.1:$OP/v2/upstream.test/test/app/tags/list" | grep_q '"multi"' || die "tags/list"
link=$(curl -sI "http://127.0.0.1:$OP/v2/upstream.test/test/app/tags/list?n=1" | grep -i '^link:' || true)
[[ -n $link ]] || die "no Link header on a paged tag list"

log "default route (no prefix) and ?ns= route reach the same upstream"
curl -sf -o /dev/null "http://127.0.0.1:$OP/v2/test/app/manifests/v1" || die "default upstream route"
curl -sf -o /dev/null "http://127.0.0.1:$OP/v2/test/app/manifests/v1?ns=upstream.test" || die "ns route"

log "containerd pulls through Outpost as a hosts.toml mirror (?ns=), fallback unreachable"
start_containerd
containerd_hosts upstream.test "$OP"
ctr_pull upstream.test/test/app:v1 || die "containerd pull of v1 failed"
ctr_pull upstream.test/test/app:multi || die "containerd pull of multi-arch failed"
grep -q 'ns=upstream.test' "$T/op.log" || die "containerd's requests did not carry ns="

[[ $(metric 'outpost_registry_cache_total{kind="blob",result="hit"}' "$OP") != 0 ]] || die "no blob hits counted"
log "ok"
