#!/usr/bin/env bash
# Content negotiation (Accept), as docker-registry does it: a stored manifest is served only to a
# client that accepts its media type; otherwise the form the client accepts is fetched from
# upstream, and failing that the answer is 404 MANIFEST_UNKNOWN naming the stored type. A tag
# resolved for different Accept sets keeps each digest apart, online and offline.
source "$(dirname "$0")/lib.sh"

OCI=application/vnd.oci.image.manifest.v1+json
DOCKER=application/vnd.docker.distribution.manifest.v2+json
LIST=application/vnd.docker.distribution.manifest.list.v2+json

start_registry up
python3 "$TOOLS/make_image.py" "$T/layout" oci --layer-mb 1 --layers 1 >/dev/null
python3 "$TOOLS/make_image.py" "$T/layout" multi --layer-mb 1 --layers 1 --platforms linux/amd64,linux/arm64 --seed m >/dev/null
push_image "$T/layout" oci "$up_PORT" test/app
# the multi-platform image as a Docker manifest list (what Docker Hub holds for older images)
skopeo_ copy -q --all --format v2s2 --dest-tls-verify=false "oci:$T/layout:multi" "docker://127.0.0.1:$up_PORT/test/app:list"
start_registry_outpost "http://127.0.0.1:$up_PORT"

# get NAME TAG ACCEPT [METHOD]: through Outpost; status echoed, headers $T/NAME.h, body $T/NAME.json
get() {
  local method=${4:-GET} head=()
  [[ $method == HEAD ]] && head=(-I)
  curl -s "${head[@]}" -D "$T/$1.h" -o "$T/$1.json" -w '%{http_code}' ${3:+-H "Accept: $3"} \
    "http://127.0.0.1:$OP/v2/upstream.test/test/app/manifests/$2"
}
header() { tr -d '\r' <"$T/$1.h" | sed -n "s/^$2: //Ip"; }
refused() {  # refused NAME: a 404 MANIFEST_UNKNOWN naming the stored OCI type
  python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["errors"][0]
assert e["code"] == "MANIFEST_UNKNOWN", e
assert sys.argv[2] in e["message"] and "Accept" in e["message"], e' "$T/$1.json" "$2" ||
    die "$1: not a MANIFEST_UNKNOWN naming $2: $(cat "$T/$1.json")"
}

log "an OCI manifest is refused to a client that accepts only Docker manifests"
[[ $(get cold oci "$DOCKER") == 404 ]] || die "cold docker-only GET of an OCI manifest: $(cat "$T/cold.json")"
[[ $(get any oci "") == 200 && $(header any content-type) == "$OCI" ]] || die "GET without Accept"
[[ $(get warm oci "$DOCKER, application/json") == 404 ]] || die "cached OCI manifest served to a docker-only client"
refused warm "$OCI"
[[ $(get warmhead oci "$DOCKER" HEAD) == 404 ]] || die "HEAD: cached OCI manifest served to a docker-only client"
[[ $(get star oci "*/*") == 200 ]] || die "*/* must accept every type"
[[ $(get q oci "$DOCKER, $OCI;q=0.5") == 200 ]] || die "an accepted type with a quality"
[[ $(get q0 oci "$DOCKER, $OCI;q=0") == 404 ]] || die "q=0 must exclude a type"

log "a manifest list: each Accept set gets its own form, and keeps it"
[[ $(get list list "") == 200 && $(header list content-type) == "$LIST" ]] || die "the list: $(header list content-type)"
list_digest=$(header list docker-content-digest)
amd64=$(python3 -c 'import json,sys; print([m["digest"] for m in json.load(open(sys.argv[1]))["manifests"] if m["platform"]["architecture"] == "amd64"][0])' "$T/list.json")
[[ $(get image list "$DOCKER") == 200 ]] || die "docker-only GET of the list tag: $(cat "$T/image.json")"
[[ $(header image content-type) == "$DOCKER" ]] || die "docker-only client got $(header image content-type)"
[[ $(header image docker-content-digest) == "$amd64" ]] || die "docker-only client got $(header image docker-content-digest), not the amd64 image $amd64"
[[ $(get list2 list "") == 200 && $(header list2 docker-content-digest) == "$list_digest" ]] ||
  die "the docker-only resolution overwrote the tag: $(header list2 docker-content-digest)"

log "offline: each client still gets its own form"
stop_pid "$up_PID"
[[ $(get off-list list "") == 200 && $(header off-list docker-content-digest) == "$list_digest" ]] || die "offline list"
[[ $(get off-image list "$DOCKER") == 200 && $(header off-image docker-content-digest) == "$amd64" ]] || die "offline docker-only"
[[ $(get off-oci oci "$DOCKER") == 404 ]] || die "offline: OCI served to a docker-only client"
refused off-oci "$OCI"
skopeo_ inspect --raw --tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/app:oci" >/dev/null || die "skopeo (accepts all) offline"
tags=$(curl -sf "http://127.0.0.1:$OP/v2/upstream.test/test/app/tags/list")
python3 -c 'import json,sys; t=json.loads(sys.argv[1])["tags"]; assert all("#" not in x for x in t), t' "$tags" ||
  die "an Accept row listed as a tag: $tags"
log "ok"
