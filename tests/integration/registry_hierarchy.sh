#!/usr/bin/env bash
# Three tiers, each a real process: site Outpost -> hub Outpost -> docker-registry origin. The
# site's upstream has the hub as its mirror (through a recording proxy that logs every request the
# hub receives from the site, and can make the hub lie about blob bytes).
# - a cold pull through the site moves each layer once from the origin and once from the hub;
# - the site's origin credentials never reach the hub, and every hub request carries ?ns=;
# - origin stopped: the hub serves what it has, so the site does;
# - hub and origin stopped: the site serves its own cache;
# - hub stopped, origin back: the site falls back to the origin;
# - a hub that sends wrong bytes: the site detects it, distrusts the hub, takes the origin's.
source "$(dirname "$0")/lib.sh"

start_registry origin
for img in a b c d; do
  python3 "$TOOLS/make_image.py" "$T/layout" "$img" --layer-mb 2 --layers 2 --seed "$img" >/dev/null
  push_image "$T/layout" "$img" "$origin_PORT" "test/$img"
done

HUB=$(free_port)
write_outpost_config "$T/hub.yaml" "$HUB" "$T/hub-data" upstream.test "http://127.0.0.1:$origin_PORT"
start_outpost hub "$T/hub.yaml"

start_recording_proxy hubrp "$HUB"
RP=$hubrp_PORT

SITE=$(free_port)
printf 'origin-secret-%s' "$RANDOM" >"$T/origin.pw"
write_outpost_config "$T/site.yaml" "$SITE" "$T/site-data" upstream.test \
  "http://127.0.0.1:$origin_PORT" "tag_ttl: 1s"
cat >>"$T/site.yaml" <<YAML
      username: site-user
      password_file: $T/origin.pw
      mirrors:
        - url: http://127.0.0.1:$RP
          insecure: true
YAML
start_outpost site "$T/site.yaml"

src() { echo "docker://127.0.0.1:$SITE/upstream.test/test/$1:$1"; }
pull() { skopeo_ copy -q --src-tls-verify=false "$(src "$1")" "oci:$T/pulled-$2:$1"; }
layers_of() { # every blob of image $1 at the origin: its layers and its config
  curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$origin_PORT/v2/test/$1/manifests/$1" |
    python3 -c 'import json,sys; m=json.load(sys.stdin); [print(d["digest"]) for d in m["layers"] + [m["config"]]]'
}
origin_blob_gets() { # blob GETs the origin served for image $1's layers
  local n=0 l
  for l in $(layers_of "$1"); do n=$((n + $(upstream_gets "$T/origin.log" "blobs/$l"))); done
  echo "$n"
}
hub_blob_gets() {
  local n=0 l
  for l in $(layers_of "$1"); do n=$((n + $(grep -c "^GET [^ ]*blobs/$l[^ ]* 200 " "$T/hubrp-requests.log" || true))); done
  echo "$n"
}
site_source_bytes() { # bytes the site received from source URL $1
  metric "outpost_upstream_source_bytes_total{kind=\"registry\",upstream=\"upstream.test\",source=\"$1\",role=\"$2\"}" "$SITE"
}
# wait_source_up URL ROLE: until the site's breaker for that source is closed (its prober runs at
# the breaker's backoff, 500 ms .. 2 s here).
wait_source_up() {
  local m="outpost_upstream_source_up{kind=\"registry\",upstream=\"upstream.test\",source=\"$1\",role=\"$2\"}"
  for _ in $(seq 100); do
    [[ $(metric "$m" "$SITE") == 1 ]] && return 0
    sleep 0.1
  done
  die "source $1 never came back up at the site"
}
layer_bytes() {
  local total=0 l
  for l in $(layers_of "$1"); do
    total=$((total + $(curl -sfI "http://127.0.0.1:$origin_PORT/v2/test/$1/blobs/$l" | tr -d '\r' | awk 'tolower($1)=="content-length:" {print $2}')))
  done
  echo "$total"
}

log "--- cold pull of a through site -> hub -> origin"
pull a 1 || die "cold pull through the hierarchy"
[[ $(origin_blob_gets a) == 3 ]] || die "origin served $(origin_blob_gets a) blob GETs, want 3 (once each)"
[[ $(hub_blob_gets a) == 3 ]] || die "hub served $(hub_blob_gets a) blob GETs to the site, want 3"
want=$(layer_bytes a)
hub_up=$(metric 'outpost_upstream_bytes_total{upstream="upstream.test"}' "$HUB")
from_hub=$(site_source_bytes "http://127.0.0.1:$RP" mirror)
from_origin=$(site_source_bytes "http://127.0.0.1:$origin_PORT" origin)
log "image blobs $want bytes; hub fetched $hub_up from the origin; site got $from_hub from the hub, $from_origin from the origin"
[[ $hub_up == "$want" ]] || die "hub fetched $hub_up bytes from the origin, want $want (1.00x)"
[[ $from_hub == "$want" ]] || die "site got $from_hub bytes from the hub, want $want (1.00x)"
[[ $from_origin == 0 ]] || die "site went to the origin for $from_origin bytes"

log "--- origin credentials never reach the hub; every request carries ns="
grep -q "auth=-" "$T/hubrp-requests.log" || die "no requests recorded"
if grep -v "auth=-" "$T/hubrp-requests.log" | grep_q .; then
  die "a request to the hub carried credentials: $(grep -v 'auth=-' "$T/hubrp-requests.log" | sed -n 1p)"
fi
grep -q "$(cat "$T/origin.pw")" "$T/hubrp-requests.log" "$T/hub.log" && die "the origin password reached the hub"
if grep -v "ns=upstream.test" "$T/hubrp-requests.log" | grep_q '^[A-Z]* /v2/[^ ]'; then
  die "a request to the hub lacks ns=: $(grep -v 'ns=upstream.test' "$T/hubrp-requests.log" | grep '/v2/.' | sed -n 1p)"
fi

log "--- warm the hub with b, then stop the origin: the site pulls b from the hub"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$HUB/upstream.test/test/b:b" "oci:$T/hub-b:b" || die "warming the hub"
stop_pid "$origin_PID"
pull b 2 || die "origin down: the site could not pull b from the hub"

log "--- stop the hub too: the site serves a and b from its own cache"
stop_pid "$hub_PID"
sleep 1.1  # tag_ttl lapses: each pull below revalidates, and every source is down
pull a 3 || die "both tiers down: cached a not served"
pull b 4 || die "both tiers down: cached b not served"

log "--- origin back, hub still down: the site falls back to the origin for c"
docker-registry serve "$T/origin/config.yml" >>"$T/origin.log" 2>&1 &
origin_PID=$!
PIDS+=("$origin_PID")
wait_http "http://127.0.0.1:$origin_PORT/v2/"
wait_source_up "http://127.0.0.1:$origin_PORT" origin
pull c 5 || die "hub down: the site did not fall back to the origin"
[[ $(origin_blob_gets c) == 3 ]] || die "origin served $(origin_blob_gets c) blob GETs of c, want 3"
status=$(curl -sf "http://127.0.0.1:$SITE/api/v1/status")
python3 - "$status" "http://127.0.0.1:$RP" <<'PY' || die "status does not show the hub down and the origin up"
import json, sys
s, hub = json.loads(sys.argv[1]), sys.argv[2]
u = [u for u in s["upstreams"] if u["kind"] == "registry" and u["name"] == "upstream.test"][0]
srcs = {x["url"]: x for x in u["sources"]}
assert [x["role"] for x in u["sources"]] == ["mirror", "origin"], u["sources"]
assert not srcs[hub]["up"] and srcs[hub]["last_error"], srcs[hub]
assert [x for x in u["sources"] if x["role"] == "origin"][0]["up"], u["sources"]
assert u["up"], u
PY
"$OUTPOST_BIN" status --server "http://127.0.0.1:$SITE" >"$T/status.txt" || true
grep -q "mirror *http://127.0.0.1:$RP *DOWN" "$T/status.txt" || die "outpost status does not show the hub down: $(cat "$T/status.txt")"

log "--- the hub comes back and lies about blob bytes: the site takes d from the origin"
start_outpost hub "$T/hub.yaml"
echo corrupt-blobs >"$hubrp_CTL"
wait_source_up "http://127.0.0.1:$RP" mirror
mismatches_before=$(metric 'outpost_registry_digest_mismatch_total{upstream="upstream.test"}' "$SITE")
# The first pull may be cut (its readers saw unverified bytes); the blobs then come from the origin.
pull d 6 || log "first pull of d through a lying hub failed, as it may"
pull d 7 || die "the site did not recover d from the origin after the hub lied"
mismatches=$(metric 'outpost_registry_digest_mismatch_total{upstream="upstream.test"}' "$SITE")
[[ ${mismatches%.*} -gt ${mismatches_before%.*} ]] || die "no digest mismatch counted for the lying hub"
curl -sf "http://127.0.0.1:$SITE/api/v1/status" | grep_q "does not verify" || die "status does not say the hub sent wrong content"
log "ok"
