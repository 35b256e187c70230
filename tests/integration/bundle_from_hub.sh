#!/usr/bin/env bash
# A release travels down the hierarchy: the hub imports `shop v1` from the registry it is in
# (oci://), pinning the artifact with the release; with the origin registry stopped, a site that
# has the hub as its mirror takes the same release from the hub with one `bundle ensure`, fetching
# only the blobs it lacks; then, with the hub stopped too, the site serves the release's images.
source "$(dirname "$0")/lib.sh"

start_registry up
shop_images 2 1
write_outpost_config "$T/create.yaml" "$(free_port)" "$T/create-data" upstream.test "http://127.0.0.1:$up_PORT"
"$OUTPOST_BIN" bundle create --config "$T/create.yaml" --name shop --version v1 \
  --image upstream.test/test/app1:v1 --image upstream.test/test/app2:multi -o "$T/v1.tar" \
  --push oci://upstream.test/bundles/shop:v1 2>"$T/create.log" || die "create: $(cat "$T/create.log")"

HUB=$(free_port)
write_outpost_config "$T/hub.yaml" "$HUB" "$T/hub-data" upstream.test "http://127.0.0.1:$up_PORT"
start_outpost hub "$T/hub.yaml"
log "the hub imports the release from the registry"
"$OUTPOST_BIN" bundle ensure --server "http://127.0.0.1:$HUB" --source oci://upstream.test/bundles/shop:v1 \
  --name shop --version v1 --timeout 2m 2>"$T/hub-ensure.log" || die "hub ensure: $(cat "$T/hub-ensure.log")"

start_recording_proxy hubrp "$HUB"
SITE=$(free_port)
write_outpost_config "$T/site.yaml" "$SITE" "$T/site-data" upstream.test "http://127.0.0.1:$up_PORT"
printf '      mirrors:\n        - url: http://127.0.0.1:%s\n          insecure: true\n' "$hubrp_PORT" >>"$T/site.yaml"
start_outpost site "$T/site.yaml"
pull() { skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$SITE/upstream.test/test/$1" "dir:$T/$2"; }
pull app1:v1 site-app1 || die "site pull of app1"
held=$(find "$T/site-data/blobs" -type f -printf '%f\n' | sort)

log "origin stopped: the site takes shop v1 from the hub"
stop_pid "$up_PID"
: >"$T/hubrp-requests.log"
"$OUTPOST_BIN" bundle ensure --server "http://127.0.0.1:$SITE" --source oci://upstream.test/bundles/shop:v1 \
  --name shop --version v1 --timeout 2m 2>"$T/site-ensure.log" || die "site ensure: $(cat "$T/site-ensure.log")"
grep -q "ns=upstream.test" "$T/hubrp-requests.log" || die "the release did not come through the hub"
fetched=0
while read -r method path status _; do
  [[ $method == GET && $path == */blobs/sha256:* ]] || continue
  d=${path##*/blobs/sha256:}
  d=${d%%\?*}
  grep -qx "$d" <<<"$held" && die "the site fetched blob $d it already held"
  fetched=$((fetched + 1))
done <"$T/hubrp-requests.log"
((fetched > 0)) || die "no blob came from the hub"
log "the site fetched $fetched blobs from the hub and none of the $(wc -l <<<"$held") it held"
"$OUTPOST_BIN" bundle ensure --server "http://127.0.0.1:$SITE" --name shop --version v1 --check >/dev/null ||
  die "the site does not report shop v1 ready"

log "hub stopped too: the site serves the release's images"
stop_pid "$hub_PID"
for img in app1:v1 app2:multi; do
  pull "$img" "offline-$img" || die "offline pull of $img"
  diff -r "$T/direct-$img" "$T/offline-$img" >/dev/null || die "offline $img differs from the origin's"
done
log "ok"
