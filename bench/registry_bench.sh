#!/usr/bin/env bash
# Registry mirror benchmark: Outpost side by side with the peers it replaces, same run, same
# machine, loopback only. Prints a Markdown table of ratios for docs/benchmarks.md.
#
#   bench/registry_bench.sh [--layer-mb 256] [--clients 8] [--rounds 3] [--link-mbps 400]
#
# Peers: docker-registry (distribution 2.8, Debian) as upstream and, separately, in proxy
# (pull-through) mode; nginx serving the same blob file as a static file (the ceiling).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/bench_lib.sh"
bench_options "$0 [--layer-mb N] [--clients N] [--rounds N] [--link-mbps N]" \
  LAYER_MB=256 CLIENTS=8 ROUNDS=3 LINK_MBPS=400 -- "$@"

now_ns() { date +%s%N; }
rss_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
# upstream_blob_bytes LOG: bytes the upstream sent for blob GETs (combined access log lines)
upstream_blob_bytes() { awk '/"GET [^"]*\/blobs\/sha256:[^"]* HTTP/ && $9 ~ /^20/ {s += $10} END {printf "%.0f\n", s}' "$1"; }

log "building test images (${LAYER_MB} MiB warm layer; cold image 4 x $((LAYER_MB / 4)) MiB)"
python3 "$TOOLS/make_image.py" "$T/layout" warm --layer-mb "$LAYER_MB" --layers 1 >/dev/null
python3 "$TOOLS/make_image.py" "$T/layout" cold --layer-mb $((LAYER_MB / 4)) --layers 4 >/dev/null
start_registry up
push_image "$T/layout" warm "$up_PORT" bench/app
push_image "$T/layout" cold "$up_PORT" bench/app
layer=$(upstream_layers "$up_PORT" bench/app warm | sed -n 1p)
hex=${layer#sha256:}
image_bytes=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://127.0.0.1:$up_PORT/v2/bench/app/manifests/cold" |
  python3 -c 'import json,sys; m=json.load(sys.stdin); print(sum(l["size"] for l in m["layers"]) + m["config"]["size"])')


start_outpost_fresh() {
  local name=$1 port
  port=$(free_port)
  write_outpost_config "$T/$name.yaml" "$port" "$T/$name-data" upstream.test "http://127.0.0.1:${UPSTREAM_PORT:-$up_PORT}"
  sed -i 's/^listen:/log: {level: warn}\nlisten:/' "$T/$name.yaml"
  start_outpost "$name" "$T/$name.yaml"
}

# nginx serving the blob as a static file
NG=$(free_port)
mkdir -p "$T/nginx/www/v2/bench/app/blobs"
cp "$T/up/data/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data" "$T/nginx/www/v2/bench/app/blobs/$layer"
start_nginx nginx "$NG" 2 "  access_log off;
  sendfile on; tcp_nopush on;
  server { listen 127.0.0.1:$NG; root $T/nginx/www; }"

start_outpost_fresh op
start_proxy_registry reg "http://127.0.0.1:$up_PORT"

# warm_throughput URL: CLIENTS parallel clients x ROUNDS GETs of the blob -> MiB/s
warm_throughput() {
  local url=$1 s e
  curl -sf -o /dev/null "$url"  # warm
  s=$(now_ns)
  for c in $(seq "$CLIENTS"); do
    (for r in $(seq "$ROUNDS"); do curl -sf -o /dev/null "$url" || echo "GET $url failed" >&2; done) &
  done
  wait
  e=$(now_ns)
  python3 -c "print(round($CLIENTS * $ROUNDS * $(stat -c %s "$T/nginx/www/v2/bench/app/blobs/$layer") / 1048576 / (($e - $s) / 1e9), 1))"
}

log "warm blob GET throughput ($CLIENTS clients x $ROUNDS GETs of ${LAYER_MB} MiB)"
# Interleaved repeats (5), median of each: a single run on 2 shared cores is noisy.
ng_runs=() op_runs=() reg_runs=()
for rep in 1 2 3 4 5; do
  ng_runs+=("$(warm_throughput "http://127.0.0.1:$NG/v2/bench/app/blobs/$layer")")
  op_runs+=("$(warm_throughput "http://127.0.0.1:$op_PORT/v2/upstream.test/bench/app/blobs/$layer")")
  reg_runs+=("$(warm_throughput "http://127.0.0.1:$reg_PORT/v2/bench/app/blobs/$layer")")
done
median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }
log "runs: nginx ${ng_runs[*]} | outpost ${op_runs[*]} | registry-proxy ${reg_runs[*]}"
w_ng=$(median "${ng_runs[@]}") w_op=$(median "${op_runs[@]}") w_reg=$(median "${reg_runs[@]}")
log "nginx $w_ng MiB/s, outpost $w_op MiB/s, registry-proxy $w_reg MiB/s"

# cold_pull NAME REF: time of one skopeo copy, and the upstream bytes it caused
cold_pull() {
  local before after s e
  before=$(upstream_blob_bytes "$T/up.log")
  s=$(now_ns)
  skopeo_ copy -q --src-tls-verify=false "$2" "dir:$T/pull-$1-$(now_ns)" >/dev/null
  e=$(now_ns)
  sleep 0.5  # the access log line is written when the response completes
  after=$(upstream_blob_bytes "$T/up.log")
  echo "$(((e - s) / 1000000)) $((after - before))"
}

rss_op=$(rss_kb "$op_PID") rss_reg=$(rss_kb "$reg_PID")
max() { echo $(($1 > $2 ? $1 : $2)); }
fresh_mirrors() {  # fresh_mirrors UPSTREAM_PORT: new Outpost and registry proxy on empty stores
  rss_op=$(max "$rss_op" "$(rss_kb "$op_PID")") rss_reg=$(max "$rss_reg" "$(rss_kb "$reg_PID")")
  stop_pid "$op_PID"
  stop_pid "$reg_PID"
  rm -rf "$T/op-data" "$T/reg/data"
  UPSTREAM_PORT=$1 start_outpost_fresh op
  start_proxy_registry reg "http://127.0.0.1:$1"
}

# cold_suite UPSTREAM_PORT: 3 fresh runs of direct / Outpost / registry-proxy cold pulls;
# sets t_direct t_op t_reg (medians, ms) and b_op b_reg (upstream bytes of the last run)
cold_suite() {
  local port=$1 t
  local -a d=() o=() r=()
  for rep in 1 2 3; do
    fresh_mirrors "$port"
    read -r t b_direct < <(cold_pull direct "docker://127.0.0.1:$port/bench/app:cold")
    d+=("$t")
    read -r t b_op < <(cold_pull op "docker://127.0.0.1:$op_PORT/upstream.test/bench/app:cold")
    o+=("$t")
    read -r t b_reg < <(cold_pull reg "docker://127.0.0.1:$reg_PORT/bench/app:cold")
    r+=("$t")
    rm -rf "$T"/pull-*
  done
  log "runs (ms): direct ${d[*]} | outpost ${o[*]} | registry-proxy ${r[*]}"
  t_direct=$(median "${d[@]}") t_op=$(median "${o[@]}") t_reg=$(median "${r[@]}")
}

log "cold pull of a $image_bytes-byte image over loopback (CPU-bound: 2 cores shared by all)"
cold_suite "$up_PORT"
lo_direct=$t_direct lo_op=$t_op lo_reg=$t_reg
log "cold pull over a ${LINK_MBPS} Mbit/s upstream link (shared-bandwidth proxy in front of upstream)"
start_proxy link "$up_PORT"
echo "linkrate $((LINK_MBPS * 125000))" >"$link_CTL"
cold_suite "$link_PORT"
ln_direct=$t_direct ln_op=$t_op ln_reg=$t_reg

log "$CLIENTS concurrent cold pulls of the same image through fresh mirrors (loopback)"
fresh_mirrors "$up_PORT"
conc() {  # conc REF -> "ms upstream_bytes"
  local before after s e
  before=$(upstream_blob_bytes "$T/up.log")
  s=$(now_ns)
  for c in $(seq "$CLIENTS"); do skopeo_ copy -q --src-tls-verify=false "$1" "dir:$T/conc-$c-$(now_ns)" >/dev/null & done
  wait
  e=$(now_ns)
  sleep 0.5
  after=$(upstream_blob_bytes "$T/up.log")
  echo "$(((e - s) / 1000000)) $((after - before))"
}
read -r c_op cb_op < <(conc "docker://127.0.0.1:$op_PORT/upstream.test/bench/app:cold")
read -r c_reg cb_reg < <(conc "docker://127.0.0.1:$reg_PORT/bench/app:cold")
rss_op=$(max "$rss_op" "$(rss_kb "$op_PID")") rss_reg=$(max "$rss_reg" "$(rss_kb "$reg_PID")")

ratio() { python3 -c "print(f'{$1 / $2:.2f}x')"; }
cat <<TABLE

| measure | outpost | docker-registry proxy | reference | outpost ratio | registry ratio |
|---|---|---|---|---|---|
| warm blob GET, MiB/s ($CLIENTS clients x $ROUNDS x ${LAYER_MB} MiB, median of 5) | $w_op | $w_reg | nginx $w_ng | $(ratio "$w_op" "$w_ng") of nginx | $(ratio "$w_reg" "$w_ng") of nginx |
| cold pull, ms, ${LINK_MBPS} Mbit/s upstream link (median of 3) | $ln_op | $ln_reg | direct $ln_direct | $(ratio "$ln_op" "$ln_direct") of direct | $(ratio "$ln_reg" "$ln_direct") of direct |
| cold pull, ms, loopback upstream, CPU-bound (median of 3) | $lo_op | $lo_reg | direct $lo_direct | $(ratio "$lo_op" "$lo_direct") of direct | $(ratio "$lo_reg" "$lo_direct") of direct |
| upstream bytes per cold pull | $b_op | $b_reg | image $image_bytes | $(ratio "$b_op" "$image_bytes") of image | $(ratio "$b_reg" "$image_bytes") of image |
| $CLIENTS concurrent cold pulls, ms (loopback) | $c_op | $c_reg | | | |
| upstream bytes for $CLIENTS concurrent cold pulls | $cb_op | $cb_reg | image $image_bytes | $(ratio "$cb_op" "$image_bytes") of image | $(ratio "$cb_reg" "$image_bytes") of image |
| peak RSS (VmHWM), KiB | $rss_op | $rss_reg | | $(ratio "$rss_op" "$rss_reg") of registry | |
TABLE
