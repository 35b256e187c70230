#!/usr/bin/env bash
# Forged cluster headers change nothing (issue: tag poisoning). A client that sends
# X-Outpost-Peer with X-Outpost-Peer-Keep naming another image's digest, X-Outpost-Peer-Local, or
# asks for a peer's raw Helm index, is answered as any client: standalone and in a cluster, with
# the upstream up and down, with no credential or one outside group peer. Keeps only on GET/HEAD;
# the releases namespace is written by release import alone, and the inventory reports only what
# is served. A real replica's keep (with the peer token) is resolved with the keeper's own
# sources: a peer that names a wrong digest poisons nothing either.
source "$(dirname "$0")/lib.sh"

start_registry up
push_test_image bench/small small 1 1
push_test_image bench/large latest 1 2
WP=$(free_port)
start_chart_repo "$WP" "http://127.0.0.1:$WP"

OCI='application/vnd.oci.image.manifest.v1+json'
digest_at() {  # digest_at BASE_URL REPO REF [ns]: the Docker-Content-Digest a GET answers with
  curl -sS -o /dev/null -D - -H "Accept: $OCI" "$1/v2/$2/manifests/$3${4:+?ns=$4}" | tr -d '\r' |
    awk -F': ' 'tolower($1)=="docker-content-digest" {print $2}'
}
code() { curl -s -o "$T/body" -w '%{http_code}' "$@" || true; }  # 000: no answer
small=$(digest_at "http://127.0.0.1:$up_PORT" bench/small small)
large=$(digest_at "http://127.0.0.1:$up_PORT" bench/large latest)
[[ $small == sha256:* && $large == sha256:* && $small != "$large" ]] || die "upstream digests: '$small' '$large'"

# forge BASE_URL METHOD REPO REF [curl args…]: a client's request with forged peer headers
# naming bench/small's digest; prints the HTTP status.
forge() {
  local base=$1 method=$2 repo=$3 ref=$4
  shift 4
  local how=(-X "$method")
  [[ $method != HEAD ]] || how=(--head)
  code "${how[@]}" -H "Accept: $OCI" -H "X-Outpost-Peer: http://evil.invalid" \
    -H "X-Outpost-Peer-Keep: $small" "$@" "$base/v2/$repo/manifests/$ref?ns=upstream.test"
}

# not_poisoned BASE_URL WHEN: bench/large:latest still resolves to its own digest, and the tags
# that do not exist upstream (bench/large:next, outpost.releases/shop:v9) resolve to nothing.
not_poisoned() {
  local d
  d=$(digest_at "$1" bench/large latest upstream.test)
  [[ $d == "$large" ]] || die "$2: bench/large:latest resolves to '$d' (bench/small is $small)"
  [[ $(code -H "Accept: $OCI" "$1/v2/bench/large/manifests/next?ns=upstream.test") == 404 ]] ||
    die "$2: the forged tag bench/large:next is served"
  [[ $(code -H "Accept: $OCI" "$1/v2/outpost.releases/shop/manifests/v9") == 404 ]] ||
    die "$2: a forged release tag is served"
  code -X POST -H 'Content-Type: application/json' \
    -d '{"images":["outpost.releases/shop:v9","upstream.test/bench/large:next"]}' \
    "$1/api/v1/images/check" >/dev/null
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["missing"]==2, d' "$T/body" ||
    die "$2: the inventory reports a forged tag as local: $(cat "$T/body")"
}

# forge_all BASE_URL WHEN [curl args…]: every forged keep; none may be honoured
forge_all() {
  local base=$1 when=$2 m
  shift 2
  for m in GET HEAD; do
    forge "$base" "$m" bench/large latest "$@" >/dev/null
    forge "$base" "$m" bench/large next "$@" >/dev/null
  done
  for m in DELETE PUT POST; do
    [[ $(forge "$base" "$m" bench/large latest "$@") == 405 ]] || die "$when: a forged $m keep was not refused with 405"
  done
  code -H "X-Outpost-Peer: x" -H "X-Outpost-Peer-Keep: $small" "$@" \
    "$base/v2/outpost.releases/shop/manifests/v9" >/dev/null
  not_poisoned "$base" "$when"
  log "$when: forged keeps changed nothing"
}

log "standalone, upstream up"
OP=$(free_port)
write_outpost_config "$T/op.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:$up_PORT"
helm_yaml "http://127.0.0.1:$WP" >>"$T/op.yaml"
start_outpost op "$T/op.yaml"
A=http://127.0.0.1:$OP
[[ $(digest_at "$A" bench/small small upstream.test) == "$small" ]] || die "pull of bench/small"
forge_all "$A" "standalone, online"

log "a forged X-Outpost-Peer-Local does not confine a client to what is held"
[[ $(code -H "Accept: $OCI" -H "X-Outpost-Peer: x" -H "X-Outpost-Peer-Local: 1" \
  "$A/v2/bench/large/manifests/latest?ns=upstream.test") == 200 ]] || die "Peer-Local was honoured: $(cat "$T/body")"
log "a forged peer request for the raw Helm index gets the client's index"
curl -sS -D "$T/helm.h" -o "$T/helm.idx" -H "X-Outpost-Peer: x" "$A/helm/charts.test/stable/index.yaml" || die "index"
grep -qi '^X-Outpost-Index-Url' "$T/helm.h" && die "a forged peer request got the raw Helm index"
grep -q 'entries' "$T/helm.idx" || die "no index: $(head -c 200 "$T/helm.idx")"
grep -q 'peer headers ignored (no cluster is configured)' "$T/op.log" || die "the ignored headers are not logged"

log "standalone, upstream down"
stop_pid "$up_PID"
forge_all "$A" "standalone, offline"

log "a cluster of three replicas (peer token), upstream up"
REGISTRY_DATA=$T/up/data start_registry up2
start_cluster "http://127.0.0.1:$up2_PORT"
for i in 1 2 3; do
  [[ $(digest_at "${URLS[$i]}" bench/small small upstream.test) == "$small" ]] || die "pull of bench/small via r$i"
done
forge_all "${URLS[1]}" "cluster, no credential"
forge_all "${URLS[2]}" "cluster, a wrong token" -H "Authorization: Bearer not-the-peer-token-0000"

log "a replica's keep (peer token) naming a wrong digest: the keeper asks its own sources"
peer=(-H "Authorization: Bearer $PEER_TOKEN")
[[ $(forge "${URLS[3]}" GET bench/large latest "${peer[@]}") == 200 ]] || die "a peer's keep was refused: $(cat "$T/body")"
[[ $(digest_at "${URLS[3]}" bench/large latest upstream.test) == "$large" ]] ||
  die "a peer's wrong digest was taken on trust"
[[ $(forge "${URLS[3]}" GET bench/large next "${peer[@]}") == 404 ]] ||
  die "a peer's keep of a tag its sources do not know was kept: $(cat "$T/body")"
[[ $(forge "${URLS[3]}" DELETE bench/large latest "${peer[@]}") == 405 ]] || die "a peer's DELETE keep"
not_poisoned "${URLS[3]}" "cluster, a peer's wrong digest"

log "cluster, upstream down"
stop_pid "$up2_PID"
forge_all "${URLS[1]}" "cluster, offline"
forge "${URLS[2]}" GET bench/large next "${peer[@]}" >/dev/null
not_poisoned "${URLS[2]}" "cluster offline, a peer's keep"
log "ok"
