#!/usr/bin/env bash
# Scale benchmark: Outpost beside nginx and docker-registry's proxy in one run, loopback only.
# Prints Markdown tables for docs/benchmarks.md.
#
#   bench/scale_bench.sh [--clients 2000] [--hold 10] [--blob-mb 64] [--small-tags 1000]
#                        [--large-tags 10000] [--small-blobs 2000] [--large-blobs 20000]
#
# 1. Slow clients: CLIENTS connections each GET a cached BLOB_MB blob and read nothing (a slow
#    link) for HOLD seconds, while a probe asks for something small 50 times in a row. Per front:
#    threads, RSS and descriptors per held connection, and the probe's p50/p99.
# 2. Growth: a repository with SMALL_TAGS, then LARGE_TAGS tags, each pulled through Outpost: a
#    whole tags/list (beside docker-registry direct and its proxy), walking tags/list in pages of
#    100, walking the inventory (/api/v1/images) in pages of 1000, the status document; then with
#    SMALL_BLOBS, then LARGE_BLOBS more blobs in the store: restart (to /healthz), fsck and a GC
#    pass. Each figure also as the ratio large/small (10x the items: linear is about 10x).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/bench_lib.sh"
bench_options "$0 [--clients N] [--hold S] [--blob-mb N] [--small-tags N] [--large-tags N] [--small-blobs N] [--large-blobs N]" \
  CLIENTS=2000 HOLD=10 BLOB_MB=64 SMALL_TAGS=1000 LARGE_TAGS=10000 SMALL_BLOBS=2000 \
  LARGE_BLOBS=20000 -- "$@"

now_ns() { date +%s%N; }
ms_since() { echo $((($(now_ns) - $1) / 1000000)); }
# The processes of a front: the pid and its children (nginx's workers).
procs() { echo "$1 $(pgrep -P "$1" | tr '\n' ' ')"; }
threads() { local n=0 p; for p in $(procs "$1"); do n=$((n + $(awk '/^Threads:/ {print $2}' "/proc/$p/status"))); done; echo "$n"; }
rss_kb() { local n=0 p; for p in $(procs "$1"); do n=$((n + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status"))); done; echo "$n"; }
fds() { local n=0 p; for p in $(procs "$1"); do n=$((n + $(find "/proc/$p/fd" -mindepth 1 -maxdepth 1 | wc -l))); done; echo "$n"; }

log "a ${BLOB_MB} MiB image upstream"
python3 "$TOOLS/make_image.py" "$T/layout" big --layer-mb "$BLOB_MB" --layers 1 --seed scale >/dev/null
start_registry up
push_image "$T/layout" big "$up_PORT" bench/app
layer=$(upstream_layers "$up_PORT" bench/app big | sed -n 1p)
hex=${layer#sha256:}
mdigest=$(curl -fsSI -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://127.0.0.1:$up_PORT/v2/bench/app/manifests/big" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest" {print $2}')

OP=$(free_port)
write_outpost_config "$T/op.yaml" "$OP" "$T/op-data" upstream.test "http://127.0.0.1:$up_PORT" "tag_ttl: 1h"
sed -i 's/^listen:/log: {level: warn}\nlisten:/' "$T/op.yaml"
serve_again() {
  "$OUTPOST_BIN" serve --config "$T/op.yaml" >>"$T/op.log" 2>&1 &
  started op $! "$OP" "http://127.0.0.1:$OP/healthz"
}
serve_again
start_proxy_registry reg "http://127.0.0.1:$up_PORT"
NG=$(free_port)
mkdir -p "$T/www/v2/bench/app/blobs" "$T/www/v2/bench/app/manifests"
cp "$T/up/data/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data" "$T/www/v2/bench/app/blobs/$layer"
echo '{}' >"$T/www/v2/bench/app/manifests/$mdigest"
start_nginx nginx "$NG" 2 "  access_log off; sendfile on; tcp_nopush on;
  server { listen 127.0.0.1:$NG; root $T/www; }"
sed -i "s/^events { worker_connections 1024; }/events { worker_connections 8192; }\nworker_rlimit_nofile $(ulimit -Hn);/" "$T/nginx/nginx.conf"
kill "$nginx_PID"
wait "$nginx_PID" 2>/dev/null || true
restart_nginx nginx "$NG"
for base in "http://127.0.0.1:$OP/v2/upstream.test" "http://127.0.0.1:$reg_PORT/v2"; do
  curl -fsS -o /dev/null "$base/bench/app/blobs/$layer" || die "warming $base"
  curl -fsS -o /dev/null -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$base/bench/app/manifests/$mdigest"
done

echo
echo "## Slow clients: $CLIENTS connections holding a GET of a cached $BLOB_MB MiB blob for ${HOLD}s"
echo
echo "| front | threads idle → held | RSS KiB per connection | descriptors per connection | probe p50 ms | probe p99 ms |"
echo "|---|---|---|---|---|---|"
slow_run() {  # slow_run NAME PID BASE_URL(with /v2 prefix)
  local name=$1 pid=$2 base=$3 t0 r0 f0 t1 r1 f1
  t0=$(threads "$pid") r0=$(rss_kb "$pid") f0=$(fds "$pid")
  rm -f "$T/ready"
  (exec python3 "$TOOLS/slow_clients.py" "$base/bench/app/blobs/$layer" "$CLIENTS" "$HOLD" \
    --probe "$base/bench/app/manifests/$mdigest" --ready-file "$T/ready") >"$T/slow-$name.json" &
  local client=$!
  for _ in $(seq 600); do [[ -s $T/ready ]] && break; sleep 0.1; done
  sleep 1  # let the server take every connection in
  t1=$(threads "$pid") r1=$(rss_kb "$pid") f1=$(fds "$pid")
  wait "$client"
  python3 - "$T/slow-$name.json" "$name" "$t0" "$t1" "$r0" "$r1" "$f0" "$f1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
name, t0, t1, r0, r1, f0, f1 = sys.argv[2], *map(int, sys.argv[3:])
n = max(d["connected"], 1)
ms = sorted(d["probe_ms"])
pct = lambda p: ms[min(len(ms) - 1, int(p * len(ms)))]
print(f"| {name} ({d['connected']} held) | {t0} → {t1} | {(r1 - r0) / n:.1f} | {(f1 - f0) / n:.2f} | {pct(0.5):.2f} | {pct(0.99):.2f} |")
PY
}
slow_run outpost "$op_PID" "http://127.0.0.1:$OP/v2/upstream.test"
slow_run nginx "$nginx_PID" "http://127.0.0.1:$NG/v2"
slow_run registry-proxy "$reg_PID" "http://127.0.0.1:$reg_PORT/v2"

# ---- growth ----
declare -A R
pull_all_tags() {  # pull_all_tags REPO: every tag's manifest through Outpost (keep-alive)
  python3 - "$OP" "$1" <<'PY'
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=60)
c.request("GET", f"/v2/upstream.test/{sys.argv[2]}/tags/list")
for t in json.load(c.getresponse())["tags"]:
    c.request("GET", f"/v2/upstream.test/{sys.argv[2]}/manifests/{t}",
              headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    r = c.getresponse(); r.read()
    assert r.status == 200, (t, r.status)
PY
}
walk_ms() {  # walk_ms URL: ms to follow every Link from URL to the end
  python3 - "$1" <<'PY'
import sys, time, urllib.request
base = sys.argv[1][: sys.argv[1].index("/", 8)]
url, t0 = sys.argv[1], time.monotonic()
while url:
    with urllib.request.urlopen(url) as r:
        r.read()
        link = r.headers.get("Link")
    url = base + link[1:link.index(">")] if link else None
print(round((time.monotonic() - t0) * 1000))
PY
}
get_ms() {  # get_ms URL: median ms of 5 GETs
  local i s out=()
  for i in 1 2 3 4 5; do
    s=$(now_ns)
    curl -fsS -o /dev/null "$1"
    out+=("$(ms_since "$s")")
  done
  printf '%s\n' "${out[@]}" | sort -n | sed -n 3p
}
for size in small large; do
  tags_var=${size^^}_TAGS
  n=${!tags_var}
  log "$n tags"
  python3 "$TOOLS/push_tags.py" "$up_PORT" "bench/t$n" big 0 >/dev/null 2>&1 || true
  skopeo_ copy -q --dest-tls-verify=false "oci:$T/layout:big" "docker://127.0.0.1:$up_PORT/bench/t$n:big" >/dev/null
  python3 "$TOOLS/push_tags.py" "$up_PORT" "bench/t$n" big "$n" >/dev/null
  pull_all_tags "bench/t$n"
  R[$size.list.outpost]=$(get_ms "http://127.0.0.1:$OP/v2/upstream.test/bench/t$n/tags/list")
  R[$size.list.registry]=$(get_ms "http://127.0.0.1:$up_PORT/v2/bench/t$n/tags/list")
  curl -fsS -o /dev/null "http://127.0.0.1:$reg_PORT/v2/bench/t$n/tags/list"
  R[$size.list.proxy]=$(get_ms "http://127.0.0.1:$reg_PORT/v2/bench/t$n/tags/list")
  R[$size.walk.outpost]=$(walk_ms "http://127.0.0.1:$OP/v2/upstream.test/bench/t$n/tags/list?n=100")
  R[$size.walk.registry]=$(walk_ms "http://127.0.0.1:$up_PORT/v2/bench/t$n/tags/list?n=100")
  R[$size.inventory]=$(walk_ms "http://127.0.0.1:$OP/api/v1/images?n=1000")
  R[$size.status]=$(get_ms "http://127.0.0.1:$OP/api/v1/status")
done
echo
echo "## Growth with tags ($SMALL_TAGS → $LARGE_TAGS, each pulled through Outpost)"
echo
echo "| operation | $SMALL_TAGS tags ms | $LARGE_TAGS tags ms | growth | beside |"
echo "|---|---|---|---|---|"
row() {  # row NAME SMALL LARGE BESIDE
  python3 -c 'import sys; s, l = float(sys.argv[2]), float(sys.argv[3]); print(f"| {sys.argv[1]} | {s:.0f} | {l:.0f} | {l / max(s, 1):.1f}x | {sys.argv[4]} |")' "$@"
}
row "tags/list, whole (Outpost)" "${R[small.list.outpost]}" "${R[large.list.outpost]}" \
  "docker-registry ${R[small.list.registry]} / ${R[large.list.registry]} ms; its proxy ${R[small.list.proxy]} / ${R[large.list.proxy]} ms"
row "tags/list, every page of 100 (Outpost)" "${R[small.walk.outpost]}" "${R[large.walk.outpost]}" \
  "docker-registry ${R[small.walk.registry]} / ${R[large.walk.registry]} ms"
row "/api/v1/images, every page of 1000" "${R[small.inventory]}" "${R[large.inventory]}" "-"
row "/api/v1/status" "${R[small.status]}" "${R[large.status]}" "-"

# A cached manifest by digest, 200 GETs in a row: alone, then while 8 clients walk the inventory
# of LARGE_TAGS tags over and over (it runs on its own pool: a pull never waits for it).
probe_pcts() {
  python3 - "http://127.0.0.1:$OP/v2/upstream.test/bench/app/manifests/$mdigest" <<'PY'
import sys, time, urllib.request
ms = []
for _ in range(200):
    t0 = time.monotonic()
    req = urllib.request.Request(sys.argv[1], headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    with urllib.request.urlopen(req) as r:
        r.read()
    ms.append((time.monotonic() - t0) * 1000)
ms.sort()
print(f"{ms[100]:.2f} {ms[197]:.2f}")
PY
}
read -r alone50 alone99 <<<"$(probe_pcts)"
walkers=()
for _ in 1 2 3 4 5 6 7 8; do
  (while [[ ! -e $T/stop-walking ]]; do walk_ms "http://127.0.0.1:$OP/api/v1/images?n=1000" >/dev/null; done) &
  walkers+=("$!")
done
read -r busy50 busy99 <<<"$(probe_pcts)"
touch "$T/stop-walking"
wait "${walkers[@]}"
echo
echo "## A cached manifest by digest while 8 clients walk the inventory of $LARGE_TAGS tags"
echo
echo "| | p50 ms | p99 ms |"
echo "|---|---|---|"
echo "| alone | $alone50 | $alone99 |"
echo "| during 8 inventory walks | $busy50 | $busy99 |"

# Functions that start the server set R[...] themselves: in a $(…) subshell the new server's
# pid would not reach the cleanup.
timed_restart() {  # timed_restart KEY: R[KEY] = ms from a stop to /healthz answering again
  stop_pid "$op_PID"
  local s
  s=$(now_ns)
  serve_again
  R[$1]=$(ms_since "$s")
}
timed_offline() {  # timed_offline KEY CMD…: R[KEY] = ms of CMD with the server stopped
  local key=$1 s
  shift
  stop_pid "$op_PID"
  s=$(now_ns)
  "$@" >/dev/null 2>&1 || true
  R[$key]=$(ms_since "$s")
  serve_again
}
for size in small large; do
  blobs_var=${size^^}_BLOBS
  n=${!blobs_var}
  log "$n more blobs"
  python3 "$TOOLS/push_blobs.py" "$up_PORT" "bench/b$n" "$n" "$T/blobs-$n.txt"
  python3 - "$OP" "bench/b$n" "$T/blobs-$n.txt" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=60)
for d in open(sys.argv[3]).read().split():
    c.request("GET", f"/v2/upstream.test/{sys.argv[2]}/blobs/{d}")
    r = c.getresponse(); r.read()
    assert r.status == 200, (d, r.status)
PY
  R[$size.blobs]=$(find "$T/op-data/blobs" -type f | wc -l)
  timed_restart "$size.restart"
  timed_offline "$size.fsck" "$OUTPOST_BIN" fsck --config "$T/op.yaml"
  timed_offline "$size.gc" "$OUTPOST_BIN" gc --config "$T/op.yaml"
done
echo
echo "## Growth with blobs (${R[small.blobs]} → ${R[large.blobs]} in the store)"
echo
echo "| operation | ${R[small.blobs]} blobs ms | ${R[large.blobs]} blobs ms | growth | beside |"
echo "|---|---|---|---|---|"
row "restart to /healthz" "${R[small.restart]}" "${R[large.restart]}" "-"
row "outpost fsck (every blob re-hashed)" "${R[small.fsck]}" "${R[large.fsck]}" "-"
row "outpost gc (to the low watermark)" "${R[small.gc]}" "${R[large.gc]}" "-"
