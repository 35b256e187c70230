#!/usr/bin/env bash
# Site benchmark: one image pulled once through each of 3 front ends of one site, side by side in
# the same run, in front of one docker-registry origin on loopback:
#   outpost-cluster   3 Outpost replicas of one site cluster (static peers)
#   outpost-alone     3 independent Outposts (no cluster section)
#   registry-proxy    3 docker-registry pull-through proxies (proxy: remoteurl: the origin)
# Sequential: replica 1, then 2, then 3 (fresh front ends); concurrent (--concurrent 1): fresh
# front ends again, the 3 pulls at once. A pull is the manifest then every blob, one at a time.
# Reports origin bytes (blob GETs answered 200/206 in the origin's access log) as a multiple of
# the image, and wall times; prints Markdown tables with ratios to the Outpost cluster.
# (docker-registry 2.8 in proxy mode fetches a missing blob from its remote twice: once to store,
# once for the client; registry/proxy/proxyblobstore.go ServeBlob.)
#
#   bench/site_bench.sh [--image-mb 64] [--concurrent 1] [--wan-mbps 0]
#
# --wan-mbps N > 0 puts the origin behind one shared rate-limited link (tests/tools/fault_proxy.py);
# 0 (the default) is the origin straight on loopback. OUTPOST_BIN chooses the binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/bench_lib.sh"
bench_options "$0 [--image-mb N] [--concurrent 0|1] [--wan-mbps N]" IMAGE_MB=64 CONCURRENT=1 \
  WAN_MBPS=0 -- "$@"
[[ $IMAGE_MB =~ ^[0-9]+$ && $IMAGE_MB -ge 4 ]] || die "--image-mb must be a whole number >= 4"
[[ $CONCURRENT == [01] ]] || die "--concurrent is 0 or 1"
[[ $WAN_MBPS =~ ^[0-9]+$ ]] || die "--wan-mbps must be a whole number"

now_ns() { date +%s%N; }
# origin_bytes: bytes the origin sent for blob GETs so far (combined access log)
origin_bytes() { awk '/"GET [^"]*\/blobs\/sha256:[^"]* HTTP/ && $9 ~ /^20[06]$/ {s += $10} END {printf "%.0f\n", s}' "$T/origin.log"; }
# origin_blob_gets: blob GETs the origin answered 200/206 so far
origin_blob_gets() { awk '/"GET [^"]*\/blobs\/sha256:[^"]* HTTP/ && $9 ~ /^20[06]$/ {n++} END {print n + 0}' "$T/origin.log"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b) printf "%.2f\n", a / b; else print "—"}'; }  # A/B

log "image: 4 layers of $((IMAGE_MB / 4)) MiB; 3 front ends of one site; origin $([[ $WAN_MBPS == 0 ]] && echo "on loopback" || echo "behind a $WAN_MBPS Mbit/s link")"
start_registry origin
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb $((IMAGE_MB / 4)) --layers 4 >/dev/null
push_image "$T/layout" v1 "$origin_PORT" bench/app
rm -rf "$T/layout"
manifest=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://127.0.0.1:$origin_PORT/v2/bench/app/manifests/v1")
# "digest size" per blob (layers and config)
blobs=$(python3 -c 'import json,sys; m=json.load(sys.stdin); [print(d["digest"], d["size"]) for d in m["layers"] + [m["config"]]]' <<<"$manifest")
image_bytes=$(awk '{s += $2} END {print s}' <<<"$blobs")
ORIGIN=http://127.0.0.1:$origin_PORT
if [[ $WAN_MBPS != 0 ]]; then
  start_proxy wan "$origin_PORT"
  echo "linkrate $((WAN_MBPS * 125000))" >"$wan_CTL"
  ORIGIN=http://127.0.0.1:$wan_PORT
fi

# start_fronts KIND: 3 fresh front ends of KIND (cluster | alone | registry); their ports in
# FRONT_PORTS, PIDs in FRONT_PIDS, the image's path prefix on them in PREFIX.
start_fronts() {
  local kind=$1 i port ports=() urls=()
  FRONT_PORTS=() FRONT_PIDS=()
  rm -rf "$T"/front*
  if [[ $kind == registry ]]; then
    PREFIX=/v2/bench/app
    for i in 1 2 3; do
      start_proxy_registry "front$i" "$ORIGIN"
      local p="front${i}_PORT" d="front${i}_PID"
      FRONT_PORTS+=("${!p}")
      FRONT_PIDS+=("${!d}")
    done
    return
  fi
  PREFIX=/v2/upstream.test/bench/app
  for i in 1 2 3; do
    port=$(free_port)
    while [[ " ${ports[*]} " == *" $port "* ]]; do port=$(free_port); done
    ports+=("$port")
    urls+=("http://127.0.0.1:$port")
  done
  for i in 1 2 3; do
    port=${ports[i - 1]}
    write_outpost_config "$T/front$i.yaml" "$port" "$T/front$i-data" upstream.test "$ORIGIN"
    sed -i 's/^listen:/log: {level: warn}\nlisten:/' "$T/front$i.yaml"
    [[ $kind != cluster ]] ||
      printf 'cluster:\n  advertise: %s\n  peers: [%s, %s, %s]\n' "${urls[i - 1]}" "${urls[0]}" "${urls[1]}" "${urls[2]}" \
        >>"$T/front$i.yaml"
    start_outpost "front$i" "$T/front$i.yaml"
    local d="front${i}_PID"
    FRONT_PORTS+=("$port")
    FRONT_PIDS+=("${!d}")
  done
}
stop_fronts() {
  local p
  for p in "${FRONT_PIDS[@]}"; do stop_pid "$p"; done
  rm -rf "$T"/front*
}

# pull PORT: the manifest, then every blob, one at a time, each checked for its size; echoes wall
# ms (fails on any error or short blob)
pull() {
  local port=$1 s e d size got
  s=$(now_ns)
  curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' -o /dev/null \
    "http://127.0.0.1:$port$PREFIX/manifests/v1" || { log "manifest through :$port failed"; return 1; }
  while read -r d size; do
    got=$(curl -sf -o /dev/null -w '%{size_download}' "http://127.0.0.1:$port$PREFIX/blobs/$d") ||
      { log "blob $d through :$port failed"; return 1; }
    [[ $got == "$size" ]] || { log "blob $d through :$port: $got bytes, not $size"; return 1; }
  done <<<"$blobs"
  e=$(now_ns)
  echo $(((e - s) / 1000000))
}

# settle: until the origin's access log stops growing (it writes a line when a response completes)
settle() {
  local a b
  sleep 0.5
  a=$(origin_bytes)
  for _ in $(seq 20); do
    sleep 0.5
    b=$(origin_bytes)
    [[ $b == "$a" ]] && return 0
    a=$b
  done
}

# sequential KIND: sets SEQ_BYTES, SEQ_GETS, SEQ_MS (3 pulls, space separated), SEQ_TOTAL
sequential() {
  local before gets0 i ms
  start_fronts "$1"
  before=$(origin_bytes) gets0=$(origin_blob_gets)
  SEQ_MS=() SEQ_TOTAL=0
  for i in 0 1 2; do
    ms=$(pull "${FRONT_PORTS[i]}") || die "$1: pull through front end $((i + 1)) failed"
    SEQ_MS+=("$ms")
    SEQ_TOTAL=$((SEQ_TOTAL + ms))
  done
  settle
  SEQ_BYTES=$(($(origin_bytes) - before)) SEQ_GETS=$(($(origin_blob_gets) - gets0))
  stop_fronts
}

# concurrent KIND: sets CON_BYTES, CON_GETS, CON_MS (wall of the 3 pulls at once)
concurrent() {
  local before gets0 s e i pids=()
  start_fronts "$1"
  before=$(origin_bytes) gets0=$(origin_blob_gets)
  s=$(now_ns)
  for i in 0 1 2; do
    pull "${FRONT_PORTS[i]}" >/dev/null &
    pids+=("$!")
  done
  for p in "${pids[@]}"; do wait "$p" || die "$1: a concurrent pull failed"; done
  e=$(now_ns)
  CON_MS=$(((e - s) / 1000000))
  settle
  CON_BYTES=$(($(origin_bytes) - before)) CON_GETS=$(($(origin_blob_gets) - gets0))
  stop_fronts
}

KINDS=(cluster alone registry)
declare -A NAME=([cluster]="3 Outposts, site cluster" [alone]="3 independent Outposts"
  [registry]="3 docker-registry proxies")
declare -A S_BYTES S_GETS S_MS S_TOTAL C_BYTES C_GETS C_MS
nblobs=$(wc -l <<<"$blobs")
for k in "${KINDS[@]}"; do
  sequential "$k"
  S_BYTES[$k]=$SEQ_BYTES S_GETS[$k]=$SEQ_GETS S_MS[$k]="${SEQ_MS[*]}" S_TOTAL[$k]=$SEQ_TOTAL
  log "${NAME[$k]}, sequential: origin sent $SEQ_BYTES bytes ($(ratio "$SEQ_BYTES" "$image_bytes")x the image) in $SEQ_GETS blob GETs ($nblobs blobs); pulls ${SEQ_MS[*]} ms"
  if [[ $CONCURRENT == 1 ]]; then
    concurrent "$k"
    C_BYTES[$k]=$CON_BYTES C_GETS[$k]=$CON_GETS C_MS[$k]=$CON_MS
    log "${NAME[$k]}, concurrent: origin sent $CON_BYTES bytes ($(ratio "$CON_BYTES" "$image_bytes")x the image) in $CON_GETS blob GETs; wall $CON_MS ms"
  fi
done

echo
echo "One $IMAGE_MB MiB image ($image_bytes bytes, $nblobs blobs) pulled once through each of 3 front ends of one site; docker-registry origin $([[ $WAN_MBPS == 0 ]] && echo "on loopback" || echo "behind a shared $WAN_MBPS Mbit/s link")."
echo
echo "Sequential (front end 1, then 2, then 3):"
echo
echo "| front ends | origin bytes (× image) | vs cluster | origin blob GETs | pull 1 / 2 / 3 | total wall | vs cluster |"
echo "|---|---|---|---|---|---|---|"
for k in "${KINDS[@]}"; do
  read -r a b c <<<"${S_MS[$k]}"
  echo "| ${NAME[$k]} | $(ratio "${S_BYTES[$k]}" "$image_bytes")× | $(ratio "${S_BYTES[$k]}" "${S_BYTES[cluster]}")× | ${S_GETS[$k]} | $a / $b / $c ms | ${S_TOTAL[$k]} ms | $(ratio "${S_TOTAL[$k]}" "${S_TOTAL[cluster]}")× |"
done
if [[ $CONCURRENT == 1 ]]; then
  echo
  echo "Concurrent (the 3 pulls at once, fresh front ends):"
  echo
  echo "| front ends | origin bytes (× image) | vs cluster | origin blob GETs | wall | vs cluster |"
  echo "|---|---|---|---|---|---|"
  for k in "${KINDS[@]}"; do
    echo "| ${NAME[$k]} | $(ratio "${C_BYTES[$k]}" "$image_bytes")× | $(ratio "${C_BYTES[$k]}" "${C_BYTES[cluster]}")× | ${C_GETS[$k]} | ${C_MS[$k]} ms | $(ratio "${C_MS[$k]}" "${C_MS[cluster]}")× |"
  done
fi
