#!/usr/bin/env bash
# Offline, a cached tag is served to every client that accepts the stored manifest's type, not
# only to one with the Accept header of the first pull. An OCI image and an OCI index are pulled
# by tag online with `Accept: <OCI type>` only (one tool pre-pulling for a site); the upstream
# stops; then containerd's four standard types, */*, OCI plus Docker v2, no Accept at all, and
# real skopeo (containers/image, as podman and CRI-O send) each get the stored manifest. A client
# that accepts only Docker v2 gets 404 MANIFEST_UNKNOWN naming the stored type, never a type it
# cannot read.
source "$(dirname "$0")/lib.sh"

start_app_registry
start_registry_outpost "http://127.0.0.1:$up_PORT"
A=http://127.0.0.1:$OP
OCI_M=application/vnd.oci.image.manifest.v1+json
OCI_I=application/vnd.oci.image.index.v1+json
D2_M=application/vnd.docker.distribution.manifest.v2+json
D2_L=application/vnd.docker.distribution.manifest.list.v2+json

# get TAG [ACCEPT…]: the status and digest Outpost answers a GET of test/app:TAG with these Accept
# headers; the body in $T/body
get() {
  local tag=$1 a args=()
  shift
  for a in "$@"; do args+=(-H "Accept: $a"); done
  curl -s -o "$T/body" -D "$T/h" "${args[@]}" "$A/v2/upstream.test/test/app/manifests/$tag" || true
  printf '%s %s' "$(sed -n 's/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$T/h" | tr -d '\r')" \
    "$(awk -F': ' 'tolower($1)=="docker-content-digest" {print $2}' "$T/h" | tr -d '\r')"
}

log "online: v1 with the OCI manifest type only, multi with the OCI index type only"
read -r code v1 <<<"$(get v1 "$OCI_M")"
[[ $code == 200 && $v1 == sha256:* ]] || die "online pull of v1: $code"
for d in $(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(" ".join([m["config"]["digest"]] + [l["digest"] for l in m["layers"]]))' "$T/body"); do
  curl -fsS -o /dev/null "$A/v2/upstream.test/test/app/blobs/$d" || die "blob $d"
done
read -r code multi <<<"$(get multi "$OCI_I")"
[[ $code == 200 && $multi == sha256:* ]] || die "online pull of multi: $code"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$up_PORT/test/app:v1" "dir:$T/direct" >/dev/null

log "upstream stopped"
stop_pid "$up_PID"
for tag in v1 multi; do
  want=${!tag}
  for set in "containerd|$D2_M, $D2_L, $OCI_M, $OCI_I" "any|*/*" "oci+docker|$OCI_M, $OCI_I, $D2_M, $D2_L" "none|"; do
    name=${set%%|*}
    accept=${set#*|}
    if [[ -n $accept ]]; then read -r code got <<<"$(get "$tag" "$accept")"; else read -r code got <<<"$(get "$tag")"; fi
    [[ $code == 200 && $got == "$want" ]] || die "offline $tag with the $name Accept set: HTTP $code $got ($(head -c 300 "$T/body"))"
  done
  log "$tag: served offline to containerd, */*, OCI+Docker v2 and no Accept"
done
skopeo_ inspect --raw --tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/app:multi" >"$T/skopeo-multi.json" ||
  die "skopeo inspect of multi offline"
[[ "sha256:$(sha256sum <"$T/skopeo-multi.json" | cut -d' ' -f1)" == "$multi" ]] || die "skopeo got another manifest for multi"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/app:v1" "dir:$T/offline" ||
  die "skopeo copy of v1 offline"
diff -r "$T/direct" "$T/offline" >/dev/null || die "skopeo's offline v1 differs from upstream's"
log "skopeo (containers/image, as podman and CRI-O) pulls both offline"

read -r code _ <<<"$(get v1 "$D2_M")"
[[ $code == 404 ]] || die "a Docker-v2-only client got HTTP $code for an OCI manifest"
grep_q MANIFEST_UNKNOWN "$T/body" || die "no MANIFEST_UNKNOWN: $(cat "$T/body")"
grep_q "$OCI_M" "$T/body" || die "the error does not name the stored type: $(cat "$T/body")"
log "a Docker-v2-only client: 404 naming the stored type"
log "ok"
