#!/usr/bin/env bash
# Cache hierarchy benchmark: N site Outposts pull one cold image at once, side by side in the same
# run, over the same rate-limited "WAN" link to the origin (docker-registry):
#   outpost-hub     every site has an Outpost hub as its mirror
#   direct          every site goes straight to the origin
#   registry-hub    every site has a docker-registry in proxy mode as its mirror
# Reports origin bytes (from the origin's access log), hub CPU seconds and wall time; prints a
# Markdown table for docs/benchmarks.md.
#
#   bench/hierarchy_bench.sh [--sites 20] [--image-mb 256] [--wan-mbps 800]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/bench_lib.sh"
bench_options "$0 [--sites N] [--image-mb N] [--wan-mbps N]" SITES=20 IMAGE_MB=256 WAN_MBPS=800 \
  -- "$@"

now_ns() { date +%s%N; }
cpu_s() { awk '{printf "%.2f\n", ($14 + $15) / 100}' "/proc/$1/stat"; }  # utime+stime, 100 Hz
# origin_bytes: bytes the origin sent for blob GETs so far (combined access log)
origin_bytes() { awk '/"GET [^"]*\/blobs\/sha256:[^"]* HTTP/ && $9 ~ /^20/ {s += $10} END {printf "%.0f\n", s}' "$T/origin.log"; }

log "image: 4 layers of $((IMAGE_MB / 4)) MiB; $SITES sites; WAN link $WAN_MBPS Mbit/s shared"
start_registry origin
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb $((IMAGE_MB / 4)) --layers 4 >/dev/null
push_image "$T/layout" v1 "$origin_PORT" bench/app
blobs=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://127.0.0.1:$origin_PORT/v2/bench/app/manifests/v1" |
  python3 -c 'import json,sys; m=json.load(sys.stdin); [print(d["digest"]) for d in m["layers"] + [m["config"]]]')
image_bytes=$(for d in $blobs; do
  curl -sfI "http://127.0.0.1:$origin_PORT/v2/bench/app/blobs/$d" | tr -d '\r' | awk 'tolower($1)=="content-length:" {print $2}'
done | awk "{s += \$1} END {print s}")
# The WAN: every tier's requests to the origin share one rate-limited link.
start_proxy wan "$origin_PORT"
echo "linkrate $((WAN_MBPS * 125000))" >"$wan_CTL"
ORIGIN=http://127.0.0.1:$wan_PORT

start_registry_hub() {
  start_proxy_registry reghub "$ORIGIN"
  HUB_PID=$reghub_PID HUB_URL=http://127.0.0.1:$reghub_PORT
}
start_outpost_hub() {
  local port
  port=$(free_port)
  write_outpost_config "$T/ophub.yaml" "$port" "$T/ophub-data" upstream.test "$ORIGIN"
  sed -i 's/^listen:/log: {level: warn}\nlisten:/' "$T/ophub.yaml"
  start_outpost ophub "$T/ophub.yaml"
  HUB_PID=$ophub_PID HUB_URL=http://127.0.0.1:$port
}
# start_sites MIRROR_URL ("" for none): SITES fresh Outposts; their ports in SITE_PORTS
start_sites() {
  SITE_PORTS=() SITE_PIDS=()
  local i port
  for i in $(seq "$SITES"); do
    port=$(free_port)
    rm -rf "$T/site$i-data"
    write_outpost_config "$T/site$i.yaml" "$port" "$T/site$i-data" upstream.test "$ORIGIN"
    sed -i 's/^listen:/log: {level: warn}\nlisten:/' "$T/site$i.yaml"
    [[ -z $1 ]] || printf '      mirrors:\n        - url: %s\n          insecure: true\n' "$1" >>"$T/site$i.yaml"
    start_outpost "site$i" "$T/site$i.yaml"
    SITE_PORTS+=("$port")
    local v="site${i}_PID"
    SITE_PIDS+=("${!v}")
  done
}
stop_sites() {
  local p
  for p in "${SITE_PIDS[@]}"; do stop_pid "$p"; done
  rm -rf "$T"/site*-data
}
# pull_all: every site pulls the manifest and every blob at once; echoes wall ms
pull_all() {
  local s e port pids=()
  s=$(now_ns)
  for port in "${SITE_PORTS[@]}"; do
    (curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' -o /dev/null \
      "http://127.0.0.1:$port/v2/upstream.test/bench/app/manifests/v1" &&
      for d in $blobs; do
        curl -sf -o /dev/null "http://127.0.0.1:$port/v2/upstream.test/bench/app/blobs/$d" || exit 1
      done) &
    pids+=("$!")
  done
  for p in "${pids[@]}"; do wait "$p" || die "a site's pull failed"; done
  e=$(now_ns)
  echo $(((e - s) / 1000000))
}

# run NAME MIRROR_KIND: one scenario; appends a table row
rows=()
run() {
  local name=$1 kind=$2 before cpu0=0 cpu1=0 wall bytes
  HUB_PID="" HUB_URL=""
  case $kind in
    outpost) start_outpost_hub ;;
    registry) start_registry_hub ;;
  esac
  start_sites "$HUB_URL"
  before=$(origin_bytes)
  [[ -z $HUB_PID ]] || cpu0=$(cpu_s "$HUB_PID")
  wall=$(pull_all)
  [[ -z $HUB_PID ]] || cpu1=$(cpu_s "$HUB_PID")
  sleep 1  # the origin writes its access log line when a response completes
  bytes=$(($(origin_bytes) - before))
  stop_sites
  [[ -z $HUB_PID ]] || stop_pid "$HUB_PID"
  local ratio cpu
  ratio=$(python3 -c "print(f'{$bytes / $image_bytes:.2f}')")
  cpu=$([[ -z $HUB_PID ]] && echo "—" || python3 -c "print(f'{$cpu1 - $cpu0:.1f} s')")
  log "$name: origin sent $bytes bytes (${ratio}x the image), hub CPU $cpu, wall $wall ms"
  rows+=("| $name | ${ratio}× | $cpu | $wall ms |")
}

run "Outpost hub" outpost
run "each site to the origin" direct
run "docker-registry proxy as hub" registry

echo
echo "$SITES sites pull one cold $IMAGE_MB MiB image ($image_bytes bytes) at once; origin behind a shared $WAN_MBPS Mbit/s link:"
echo
echo "| hub | origin bytes (× image) | hub CPU | wall time |"
echo "|---|---|---|---|"
printf '%s\n' "${rows[@]}"
