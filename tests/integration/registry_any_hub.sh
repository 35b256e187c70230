#!/usr/bin/env bash
# Hubs that are not an Outpost, each a real process in front of a real docker-registry:
# - Harbor-style: a proxy-cache project in front of every repository (nginx rewrites
#   /v2/dockerhub-proxy/<repo>/… to the registry), reached with repository_prefix;
# - Artifactory-style: a path before /v2 (/artifactory/api/docker/dockerhub/v2/…), kept from the
#   mirror's URL;
# - docker-registry in proxy mode, whose own remote lacks a blob (distribution#4747: it answers
#   404 or 5xx for it).
# A site pulls through each hub with the origin up (the hub answers, the origin is not asked), with
# the origin down (the hub serves), and through the origin with the hub down. Every pull is
# byte-identical to the origin's image; the proxy's missing blob is taken from the origin, never
# a false 404.
source "$(dirname "$0")/lib.sh"

start_registry origin
for img in a b c; do
  python3 "$TOOLS/make_image.py" "$T/layout" "$img" --layer-mb 1 --layers 2 --seed "$img" >/dev/null
  push_image "$T/layout" "$img" "$origin_PORT" "test/$img"
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$origin_PORT/test/$img:$img" "dir:$T/direct-$img"
done

log "the hub: a docker-registry holding the origin's content, behind nginx in two styles"
cp -a "$T/origin/data" "$T/hub-data"
REGISTRY_DATA=$T/hub-data start_registry hubreg
NG=$(free_port)
start_nginx hubweb "$NG" 1 "  access_log $T/hubweb-access.log;
  server {
    listen 127.0.0.1:$NG;
    client_max_body_size 0;
    location ~ ^/v2/dockerhub-proxy/(.*)\$ { proxy_pass http://127.0.0.1:$hubreg_PORT/v2/\$1\$is_args\$args; }
    location = /v2/ { proxy_pass http://127.0.0.1:$hubreg_PORT/v2/; }
    location /artifactory/api/docker/dockerhub/v2/ { proxy_pass http://127.0.0.1:$hubreg_PORT/v2/; }
    location / { return 404; }
  }"

# site NAME PORT MIRROR_YAML: a site Outpost whose upstream.test has the origin and one mirror.
site() {
  write_outpost_config "$T/$1.yaml" "$2" "$T/$1-data" upstream.test "http://127.0.0.1:$origin_PORT"
  printf '      mirrors:\n%s\n' "$3" >>"$T/$1.yaml"
  start_outpost "$1" "$T/$1.yaml"
}
HARBOR=$(free_port)
site harbor "$HARBOR" "        - {url: http://127.0.0.1:$NG, insecure: true, repository_prefix: dockerhub-proxy}"
ART=$(free_port)
site art "$ART" "        - {url: http://127.0.0.1:$NG/artifactory/api/docker/dockerhub/, insecure: true}"

# pull_same PORT IMG: skopeo pulls test/IMG through the site at PORT, identical to the origin's.
pull_same() {
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$1/upstream.test/test/$2:$2" "dir:$T/got-$1-$2" ||
    die "pull of test/$2 through the site on port $1"
  diff -r "$T/direct-$2" "$T/got-$1-$2" >/dev/null || die "test/$2 through port $1 differs from the origin's"
}
# origin_asked IMG: GETs of test/IMG the origin served since the last origin_mark.
origin_mark() { MARK=$(wc -l <"$T/origin.log"); }
origin_asked() { tail -n +$((MARK + 1)) "$T/origin.log" | grep -cE "\"GET /v2/test/$1[/? ]" || true; }
origin_mark

log "origin up: each site's pull of test/a is answered by the hub, under its prefix"
for port in "$HARBOR" "$ART"; do pull_same "$port" a; done
(($(origin_asked a) == 0)) || die "the origin was asked for test/a although the hub had it"
grep_q -E '"GET /v2/dockerhub-proxy/test/a/manifests/a\?ns=upstream.test HTTP' "$T/hubweb-access.log" ||
  die "the Harbor-style site did not ask /v2/dockerhub-proxy/test/a: $(cat "$T/hubweb-access.log")"
grep_q -E '"GET /v2/dockerhub-proxy/test/a/blobs/sha256:[0-9a-f]{64}\?ns=upstream.test HTTP[^"]*" 200' "$T/hubweb-access.log" ||
  die "the Harbor-style site took no blob from the hub"
grep_q -E '"GET /artifactory/api/docker/dockerhub/v2/test/a/blobs/sha256:[0-9a-f]{64}\?ns=upstream.test HTTP[^"]*" 200' "$T/hubweb-access.log" ||
  die "the Artifactory-style site took no blob from the hub under its path"

log "origin stopped: both sites pull test/b from the hub"
stop_pid "$origin_PID"
for port in "$HARBOR" "$ART"; do pull_same "$port" b; done

log "hub stopped, origin back: both sites pull test/c from the origin"
stop_pid "$hubweb_PID"
docker-registry serve "$T/origin/config.yml" >>"$T/origin.log" 2>&1 &
started origin $! "$origin_PORT" "http://127.0.0.1:$origin_PORT/v2/"
origin_mark
for port in "$HARBOR" "$ART"; do pull_same "$port" c; done
(($(origin_asked c) > 0)) || die "test/c did not come from the origin"

log "docker-registry in proxy mode as the hub; its remote lacks one blob of test/c"
cp -a "$T/origin/data" "$T/partial-data"
missing=$(upstream_layers "$origin_PORT" test/c c | sed -n 1p)
rm -r "$T/partial-data/docker/registry/v2/blobs/sha256/${missing:7:2}/${missing:7}"
REGISTRY_DATA=$T/partial-data start_registry partial
REGISTRY_EXTRA_YAML="proxy:
  remoteurl: http://127.0.0.1:$partial_PORT" start_registry proxyhub
PX=$(free_port)
origin_mark
site px "$PX" "        - {url: http://127.0.0.1:$proxyhub_PORT, insecure: true}"
for img in a c; do pull_same "$PX" "$img"; done
grep_q "GET /v2/test/a/blobs/" "$T/proxyhub.log" || die "the proxy hub served no blob of test/a"
(($(origin_asked a) == 0)) || die "the origin was asked for test/a although the proxy hub had it"
grep_q "GET /v2/test/c/blobs/$missing" "$T/proxyhub.log" || die "the proxy hub was never asked for the blob it lacks"
(($(origin_asked "c/blobs/$missing") > 0)) ||
  die "the blob the proxy hub lacks did not come from the origin"
log "ok"
