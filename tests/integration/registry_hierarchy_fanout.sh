#!/usr/bin/env bash
# 20 site Outposts, each a real process with the hub as its mirror, pull one cold image at once
# through one hub Outpost: the origin (docker-registry) sends the manifest and each blob once, and
# every site gets every byte right.
source "$(dirname "$0")/lib.sh"

SITES=20
start_registry origin
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 8 --layers 2 >/dev/null
push_image "$T/layout" v1 "$origin_PORT" test/app

HUB=$(free_port)
write_outpost_config "$T/hub.yaml" "$HUB" "$T/hub-data" upstream.test "http://127.0.0.1:$origin_PORT"
start_outpost hub "$T/hub.yaml"
for i in $(seq "$SITES"); do
  port=$(free_port)
  write_outpost_config "$T/site$i.yaml" "$port" "$T/site$i-data" upstream.test "http://127.0.0.1:$origin_PORT"
  printf '      mirrors:\n        - url: http://127.0.0.1:%s\n          insecure: true\n' "$HUB" >>"$T/site$i.yaml"
  start_outpost "site$i" "$T/site$i.yaml"
done

blobs=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://127.0.0.1:$origin_PORT/v2/test/app/manifests/v1" |
  python3 -c 'import json,sys; m=json.load(sys.stdin); [print(d["digest"]) for d in m["layers"] + [m["config"]]]')

# pull_site I: the manifest by tag, then every blob, from site I (as a client does).
pull_site() {
  local port=$1 dir=$T/pulled$2 d
  mkdir -p "$dir"
  curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$port/v2/upstream.test/test/app/manifests/v1" -o "$dir/manifest" || return 1
  for d in $blobs; do
    curl -sf "http://127.0.0.1:$port/v2/upstream.test/test/app/blobs/$d" -o "$dir/${d#sha256:}" || return 1
  done
}

manifests_before=$(upstream_gets "$T/origin.log" "manifests/v1")  # this script's own look
log "--- $SITES sites pull one cold image through the hub at once"
pids=()
for i in $(seq "$SITES"); do
  port_var="site${i}_PORT"
  pull_site "${!port_var}" "$i" &
  pids+=("$!")
done
for p in "${pids[@]}"; do wait "$p" || die "a site's pull failed"; done
for i in $(seq "$SITES"); do
  for d in $blobs; do
    [[ $(sha256sum "$T/pulled$i/${d#sha256:}" | cut -d' ' -f1) == "${d#sha256:}" ]] || die "site $i got wrong bytes for $d"
  done
done
total=0
for d in $blobs; do
  n=$(upstream_gets "$T/origin.log" "blobs/$d")
  [[ $n == 1 ]] || die "the origin served $d $n times, want once"
  total=$((total + n))
done
manifests=$(($(upstream_gets "$T/origin.log" "manifests/v1") - manifests_before))
[[ $manifests == 1 ]] || die "the origin served the manifest $manifests times, want once"
hub_bytes=$(metric 'outpost_upstream_bytes_total{upstream="upstream.test"}' "$HUB")
log "origin: $total blob GETs for $(echo "$blobs" | wc -w) blobs, $manifests manifest GETs; hub fetched $hub_bytes bytes for $SITES sites"
log "ok"
