#!/usr/bin/env bash
# registry.revalidate: background (the default). A due tag is served from the cache at once while
# its HEAD upstream is still unanswered (the line holds every upstream byte); once the line
# passes again the HEAD finds the tag moved, the new manifest is fetched in the background and
# served from the next pull on. With the origin gone, due tags keep being served.
source "$(dirname "$0")/lib.sh"

start_registry up
python3 "$TOOLS/make_image.py" "$T/a" v1 --layer-mb 1 --layers 1 --seed a >/dev/null
python3 "$TOOLS/make_image.py" "$T/b" v1 --layer-mb 1 --layers 1 --seed b >/dev/null
push_image "$T/a" v1 "$up_PORT" test/app
start_proxy line "$up_PORT"
OP=$(free_port)
write_outpost_config "$T/op.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:$line_PORT" "tag_ttl: 1s"
sed -i 's/upstream_timeout: 2s/upstream_timeout: 60s/' "$T/op.yaml"  # the held HEAD waits
start_outpost op "$T/op.yaml"

ACCEPT='application/vnd.oci.image.manifest.v1+json'
# get NAME: GET the tag through Outpost; headers in $T/NAME.h, body in $T/NAME.json
get() {
  curl -sf -D "$T/$1.h" -o "$T/$1.json" -H "Accept: $ACCEPT" \
    "http://127.0.0.1:$OP/v2/upstream.test/test/app/manifests/v1" || die "GET v1 ($1) failed"
}
header() { tr -d '\r' <"$T/$1.h" | sed -n "s/^$2: //Ip"; }
revalidations() {
  metric "outpost_registry_revalidations_total{upstream=\"upstream.test\",mode=\"background\",result=\"$1\"}" "$OP"
}
until_metric() {  # until_metric NAME VALUE: waits for an event Outpost reports
  for _ in $(seq 300); do [[ $(metric "$1" "$OP") == "$2" ]] && return 0; sleep 0.1; done
  die "$1 never reached $2 (is $(metric "$1" "$OP"))"
}

get first
a_digest=$(header first docker-content-digest)
[[ $a_digest == sha256:* ]] || die "no digest for v1"
push_image "$T/b" v1 "$up_PORT" test/app  # v1 moves upstream
b_digest=$(curl -sfI -H "Accept: $ACCEPT" "http://127.0.0.1:$up_PORT/v2/test/app/manifests/v1" |
  tr -d '\r' | sed -n 's/^docker-content-digest: //Ip')
[[ $b_digest != "$a_digest" ]] || die "the tag did not move upstream"

log "the line holds every answer; v1 is due: served at once, the HEAD still unanswered"
echo hold >"$line_CTL"
sleep 1.2  # tag_ttl lapses
get due
[[ $(header due docker-content-digest) == "$a_digest" ]] || die "the due pull was not served the cached digest"
[[ $(header due x-outpost-cache) == hit ]] || die "the due pull waited on upstream: X-Outpost-Cache $(header due x-outpost-cache)"
for r in unchanged moved deleted failed; do
  [[ $(revalidations $r) == 0 ]] || die "a revalidation ended ($r) while the line held its answer"
done

log "the line passes: the HEAD finds v1 moved, the new manifest is fetched in the background"
echo pass >"$line_CTL"
until_metric 'outpost_registry_cache_total{kind="manifest",result="miss"}' 2
[[ $(revalidations moved) == 1 ]] || die "revalidations moved: $(revalidations moved)"
get next
[[ $(header next docker-content-digest) == "$b_digest" ]] || die "after the background fetch, v1 is $(header next docker-content-digest), not $b_digest"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/app:v1" "dir:$T/pulled" ||
  die "skopeo pull of the moved tag"
[[ $(sha256sum <"$T/pulled/manifest.json" | cut -d' ' -f1) == "${b_digest#sha256:}" ]] || die "skopeo got another manifest"

log "origin gone: due tags are still served"
stop_pid "$up_PID"
sleep 1.2  # tag_ttl lapses
for i in 1 2 3; do
  get offline$i
  [[ $(header offline$i docker-content-digest) == "$b_digest" ]] || die "offline pull $i: $(header offline$i docker-content-digest)"
done
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/app:v1" "dir:$T/offline" ||
  die "skopeo pull with the origin gone"
log "ok"
