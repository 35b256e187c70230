#!/usr/bin/env bash
# A request that local state can answer never waits for a thread held by an upstream wait. While
# cold manifest lookups wait on an upstream whose answers a fault proxy holds (enough of them to
# occupy every upstream worker), a cached blob, a cached manifest, ref discovery (info/refs) of a
# synced Git mirror and /metrics all complete; only then are the cold lookups let through. The
# check is the order of completions, not a time.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"

COLD=40
WORKERS=16
start_registry up
start_proxy px "$up_PORT"
python3 "$TOOLS/make_image.py" "$T/layout" warm --layer-mb 1 --layers 1 --seed hits >/dev/null
push_image "$T/layout" warm "$up_PORT" test/warm
# COLD tags upstream, each an alias of one manifest (PUT by hand: fast)
MT=application/vnd.oci.image.manifest.v1+json
curl -sf -H "Accept: $MT" "http://127.0.0.1:$up_PORT/v2/test/warm/manifests/warm" >"$T/manifest.json"
for blob in $(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["config"]["digest"]); [print(l["digest"]) for l in m["layers"]]' "$T/manifest.json"); do
  curl -sf -X POST -o /dev/null "http://127.0.0.1:$up_PORT/v2/test/cold/blobs/uploads/?mount=$blob&from=test/warm" ||
    die "mount $blob"
done
for i in $(seq "$COLD"); do
  curl -sf -X PUT -H "Content-Type: $MT" --data-binary @"$T/manifest.json" \
    "http://127.0.0.1:$up_PORT/v2/test/cold/manifests/t$i" -o /dev/null || die "tag t$i"
done
start_git_upstream
make_manifest_repo org/app

OP=$(free_port)
write_git_outpost_config "$T/outpost.yaml" "$OP" "$T/data" "sync_interval: 1h"
cat >>"$T/outpost.yaml" <<YAML
server:
  worker_threads: $WORKERS
registry:
  default_upstream: upstream.test
  upstream_timeout: 60s
  upstreams:
    - name: upstream.test
      url: http://127.0.0.1:$px_PORT
      insecure: true
YAML
start_outpost op "$T/outpost.yaml"
B=http://127.0.0.1:$OP

log "warm: a pulled image and a synced git mirror"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/test/warm:warm" "dir:$T/warm" || die "warm pull"
layer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"])' "$T/warm/manifest.json")
git clone -q "$B/git/git.test/org/app.git" "$T/clone" || die "clone"

log "hold upstream's answers; $COLD cold manifest lookups"
echo hold >"$px_CTL"
ORDER=$T/order
: >"$ORDER"
cold=()
for i in $(seq "$COLD"); do
  (code=$(curl -s -o /dev/null -w '%{http_code}' -H "Accept: $MT" "$B/v2/test/cold/manifests/t$i")
   echo "cold $i $code" >>"$ORDER") &
  cold+=("$!")
done
# Every upstream worker is now waiting: as many lookups as workers have reached the upstream.
until (($(grep -c 'GET /v2/test/cold/manifests/' "$T/up.log" || true) >= WORKERS)); do sleep 0.1; done
log "$(grep -c 'GET /v2/test/cold/manifests/' "$T/up.log") cold lookups are waiting upstream"

hit() {  # hit NAME CMD…: runs CMD, records its completion
  local name=$1
  shift
  "$@" >/dev/null 2>"$T/hit-$name.err" && echo "hit $name ok" >>"$ORDER" || echo "hit $name failed" >>"$ORDER"
}
hit blob curl -sf "$B/v2/test/warm/blobs/$layer" -o "$T/blob"
hit manifest curl -sf -H "Accept: $MT" "$B/v2/test/warm/manifests/warm"
hit info_refs git ls-remote "$B/git/git.test/org/app.git"
hit metrics curl -sf "$B/metrics"
echo pass >"$px_CTL"
for p in "${cold[@]}"; do wait "$p"; done

cat "$ORDER" >&2
grep -q 'failed' "$ORDER" && die "a hit failed: $(cat "$T"/hit-*.err)"
first_cold=$(grep -n '^cold' "$ORDER" | sed -n 1p | cut -d: -f1)
last_hit=$(grep -n '^hit' "$ORDER" | tail -1 | cut -d: -f1)
((last_hit < first_cold)) || die "a cached request completed after a cold lookup: hits waited behind misses"
(($(grep -c '^cold .* 200$' "$ORDER") == COLD)) || die "not every cold lookup succeeded once released"
[[ $(sha256sum <"$T/blob" | cut -d' ' -f1) == "${layer#sha256:}" ]] || die "cached blob bytes"
log "ok"
