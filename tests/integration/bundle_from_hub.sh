#!/usr/bin/env bash
# A release travels down the hierarchy: the hub imports `shop v1` from the registry it is in
# (oci://), pinning the artifact with the release; with the origin registry stopped, a site that
# has the hub as its mirror takes the same release from the hub with one `bundle ensure`, fetching
# only the blobs it lacks; then, with the hub stopped too, the site serves the release's images.
source "$(dirname "$0")/lib.sh"

shop_v1_and_hub
start_outpost hub "$T/hub.yaml"
log "the hub imports the release from the registry"
"$OUTPOST_BIN" bundle ensure --server "http://127.0.0.1:$HUB" --source oci://upstream.test/bundles/shop:v1 \
  --name shop --version v1 --timeout 2m 2>"$T/hub-ensure.log" || die "hub ensure: $(cat "$T/hub-ensure.log")"

site_behind_hub mirror
site_takes_shop_v1 oci://upstream.test/bundles/shop:v1
grep -q "ns=upstream.test" "$T/hubrp-requests.log" || die "the release did not come through the hub"
"$OUTPOST_BIN" bundle ensure --server "http://127.0.0.1:$SITE" --name shop --version v1 --check >/dev/null ||
  die "the site does not report shop v1 ready"

site_serves_shop_v1_alone
log "ok"
