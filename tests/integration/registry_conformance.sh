#!/usr/bin/env bash
# The read-only pull checks of the OCI distribution-spec conformance suite (reproduced by
# tools/oci_pull_checks.py; the suite itself is not packaged for Debian), run against
# docker-registry itself (so the checks are right) and through Outpost online and offline; tag
# paging followed to the end against an upstream that ignores n and last; referrers passed
# through (404 when upstream has no API), kept and served offline, 404 for what was never seen.
source "$(dirname "$0")/lib.sh"
CHECK="python3 $TOOLS/oci_pull_checks.py"

start_registry up
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 1 --layers 1 --seed conf >/dev/null
python3 "$TOOLS/make_image.py" "$T/layout" multi --layer-mb 1 --layers 1 --seed conf-m \
  --platforms linux/amd64,linux/arm64 >/dev/null
TAGS=(v1 v2 multi a10 B_1 z9 latest)
push_image "$T/layout" v1 "$up_PORT" test/app
for t in "${TAGS[@]:1}"; do
  skopeo_ copy -q --all --src-tls-verify=false --dest-tls-verify=false \
    "docker://127.0.0.1:$up_PORT/test/app:v1" "docker://127.0.0.1:$up_PORT/test/app:$t" >/dev/null
done
push_image "$T/layout" multi "$up_PORT" test/app --all
tag_csv=$(IFS=,; echo "${TAGS[*]}")

log "the checks against docker-registry itself"
$CHECK pull "http://127.0.0.1:$up_PORT" test/app v1 >"$T/direct.out" || die "checks fail on docker-registry: $(cat "$T/direct.out")"
$CHECK referrers "http://127.0.0.1:$up_PORT" test/app "sha256:$(printf '0%.0s' $(seq 64))" 404 ||
  die "docker-registry 2.8 was expected to have no referrers API"

# A referrers API for one subject, in front of the registry: a real web server serving a stored
# index for that path and passing everything else to docker-registry.
subject=$(curl -sf -o /dev/null -w '%header{docker-content-digest}' \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$up_PORT/v2/test/app/manifests/v1")
mkdir -p "$T/ref/v2/test/app/referrers"
cat >"$T/ref/v2/test/app/referrers/$subject" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$(printf 'a%.0s' $(seq 64))","size":10,"artifactType":"application/vnd.dev.cosign.simplesigning.v1+json"},
 {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:$(printf 'b%.0s' $(seq 64))","size":10,"artifactType":"application/spdx+json"}]}
JSON
FP=$(free_port)
start_nginx front "$FP" 1 "  access_log $T/front-access.log;
  server { listen 127.0.0.1:$FP;
    location ~ ^/v2/.*/referrers/ { root $T/ref; default_type application/vnd.oci.image.index.v1+json; }
    location / { proxy_pass http://127.0.0.1:$up_PORT; proxy_set_header Host \$http_host; }
  }"

OP=$(free_port)
write_outpost_config "$T/outpost.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:$FP"
start_outpost op "$T/outpost.yaml"
B=http://127.0.0.1:$OP

log "through Outpost, online"
$CHECK pull "$B" test/app v1 >"$T/online.out" || die "pull checks online: $(cat "$T/online.out")"
$CHECK pull "$B" test/app multi >>"$T/online.out" || die "pull checks (index) online: $(cat "$T/online.out")"
log "$(grep -c "^ok" "$T/online.out") pull checks passed online"
$CHECK tags "$B" test/app "$tag_csv" >"$T/tags-online.out" || die "tag paging online: $(cat "$T/tags-online.out")"
$CHECK tags "$B" upstream.test/test/app "$tag_csv" >>"$T/tags-online.out" || die "tag paging (path prefix): $(cat "$T/tags-online.out")"
$CHECK referrers "$B" test/app "$subject" 200 2 || die "referrers from upstream"
[[ $(curl -s "$B/v2/test/app/referrers/$subject?artifactType=application/spdx%2Bjson" |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin)["manifests"]))') == 1 ]] || die "artifactType filter"
other=sha256:$(printf 'c%.0s' $(seq 64))
$CHECK referrers "$B" test/app "$other" 404 || die "upstream 404 (no referrers) must pass through"
$CHECK referrers "$B" test/nothing-here "$other" 404 || die "unknown repository: referrers must be 404"

log "offline: upstream and its front stopped"
stop_pid "$front_PID"
stop_pid "$up_PID"
$CHECK pull "$B" test/app v1 >"$T/offline.out" || die "pull checks offline: $(cat "$T/offline.out")"
$CHECK tags "$B" test/app "$tag_csv" >"$T/tags-offline.out" || die "tag paging offline: $(cat "$T/tags-offline.out")"
$CHECK referrers "$B" test/app "$subject" 200 2 || die "kept referrers offline"
$CHECK referrers "$B" test/app "$other" 404 || die "never-fetched referrers offline must be 404"
log "ok"
