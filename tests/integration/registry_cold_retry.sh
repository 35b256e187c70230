#!/usr/bin/env bash
# A cold blob fetch whose first connection upstream is black-holed (it stalls before the first
# byte) is retried within the stall budget while the client waits: 20 cold pulls in a row, each
# with its first blob request swallowed by the fault proxy, all succeed byte-identical.
source "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-20}
start_registry up
start_proxy px "$up_PORT"
for i in $(seq "$ROUNDS"); do
  python3 "$TOOLS/make_image.py" "$T/layout" "cold$i" --layer-mb 1 --layers 1 --seed "cold-$i" >/dev/null
  push_image "$T/layout" "cold$i" "$up_PORT" test/cold
done

OP=$(free_port)
write_outpost_config "$T/outpost.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:$px_PORT" \
  "stall_timeout: 1s"
start_outpost op "$T/outpost.yaml"
# What skopeo accepts (every standard type): the tag it resolves is the one cached here.
ACCEPT='application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json'

ok=0
for i in $(seq "$ROUNDS"); do
  # The manifest is cached first, so the pull's only upstream requests are its blobs.
  curl -sf -o /dev/null -H "Accept: $ACCEPT" "http://127.0.0.1:$OP/v2/test/cold/manifests/cold$i" ||
    die "round $i: manifest"
  echo blackholeonce >"$px_CTL"
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/test/cold:cold$i" "dir:$T/pulled-$i" \
    2>"$T/pull-$i.err" || die "round $i: cold pull failed: $(cat "$T/pull-$i.err")"
  [[ $(cat "$px_CTL") == pass ]] || die "round $i: no upstream request was black-holed: the round proved nothing"
  ok=$((ok + 1))
  rm -rf "$T/pulled-$i"
done
retries=$(metric 'outpost_registry_fetch_resumes_total{upstream="upstream.test"}' "$OP")
log "$ok of $ROUNDS cold pulls succeeded; $retries blob fetches retried"
((retries >= ROUNDS)) || die "expected at least $ROUNDS retried fetches, saw $retries"
log "ok"
