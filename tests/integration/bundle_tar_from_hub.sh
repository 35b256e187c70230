#!/usr/bin/env bash
# A release that reached the hub as a tar file (a USB stick, no registry) is re-served to sites:
# the hub keeps the release's OCI artifact (byte for byte the one `bundle create --push` makes) at
# outpost.releases/shop:v1, and a site that lists the hub as a registry upstream takes it with one
# `bundle ensure --source oci://hub.test/outpost.releases/shop:v1`, fetching only the blobs it
# lacks, with the origin registry stopped; then the site re-serves it the same way, and with the
# hub stopped too it serves the release's images.
source "$(dirname "$0")/lib.sh"

shop_v1_and_hub
pushed=$(grep -o 'as sha256:[0-9a-f]*' "$T/create.log" | cut -d' ' -f2)
[[ -n $pushed ]] || die "no pushed digest in: $(cat "$T/create.log")"
log "the hub imports the release from the tar file"
"$OUTPOST_BIN" bundle import --config "$T/hub.yaml" "$T/v1.tar" 2>"$T/hub-import.log" ||
  die "hub import: $(cat "$T/hub-import.log")"
start_outpost hub "$T/hub.yaml"
digest_at() {  # digest_at PORT: the digest skopeo reads for outpost.releases/shop:v1 there
  skopeo_ inspect --raw --tls-verify=false "docker://127.0.0.1:$1/outpost.releases/shop:v1" | sha256sum | cut -d' ' -f1
}
served=$(digest_at "$HUB") || die "the hub does not serve outpost.releases/shop:v1"
[[ sha256:$served == "$pushed" ]] || die "the hub serves sha256:$served, the push made $pushed"
curl -fsS "http://127.0.0.1:$HUB/v2/outpost.releases/shop/tags/list" | grep_q '"v1"' ||
  die "the hub does not list shop v1"

site_behind_hub upstream
site_takes_shop_v1 oci://hub.test/outpost.releases/shop:v1
site_served=$(digest_at "$SITE") || die "the site does not re-serve outpost.releases/shop:v1"
[[ sha256:$site_served == "$pushed" ]] || die "the site re-serves sha256:$site_served, not $pushed"

site_serves_shop_v1_alone
log "ok"
