#!/usr/bin/env bash
# A hub on S3, side by side in one run, on one Ceph RGW (Debian 12; one mon, one memstore OSD,
# radosgw on loopback, started here) and one docker-registry origin:
#  - S3 requests per blob pushed and per blob served: Outpost's hub against docker-registry
#    (distribution 2.8) with its `s3` storage driver on the same RGW (counted from RGW's own
#    access log);
#  - a warm GET from the hot tier against Outpost on the filesystem backend (goal >= 0.95x);
#  - a miss served from S3 against a direct, signed S3 GET of the same object (goal <= 1.1x);
#  - origin bytes for 3 hub replicas (a site cluster on one bucket and one PostgreSQL, as
#    deployed) pulling one cold image at once (goal 1.00x of the image), and for a replica
#    started with an empty disk (goal 0: the bucket and the database hold everything).
# Prints a Markdown table for docs/benchmarks.md.
#
#   bench/hub_bench.sh [--layer-mb 64] [--layers 4] [--rounds 5]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/bench_lib.sh"
bench_options "$0 [--layer-mb N] [--layers N] [--rounds N]" LAYER_MB=64 LAYERS=4 ROUNDS=5 -- "$@"

now_ns() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }
# rgw_requests: S3 requests RGW has served so far for the test user, by method ("GET 12 PUT 4")
rgw_requests() {
  awk '/beast: .* - outpost \[/ {m = $0; sub(/.*"/, "", m); split($0, q, "\""); split(q[2], r, " "); n[r[1]]++}
       END {for (k in n) printf "%s=%d ", k, n[k]; print ""}' "$T/ceph/client.rgw.log"
}
rgw_total() { awk '/beast: .* - outpost \[/ {n++} END {print n + 0}' "$T/ceph/client.rgw.log"; }
upstream_blob_bytes() { awk '/"GET [^"]*\/blobs\/sha256:[^"]* HTTP/ && $9 ~ /^20/ {s += $10} END {printf "%.0f\n", s}' "$1"; }

log "origin: docker-registry with bench/app ($LAYERS layers of $LAYER_MB MiB)"
start_registry up
python3 "$TOOLS/make_image.py" "$T/layout" app --layer-mb "$LAYER_MB" --layers "$LAYERS" >/dev/null
push_image "$T/layout" app "$up_PORT" bench/app
mapfile -t layers < <(upstream_layers "$up_PORT" bench/app app)
blobs=$((LAYERS + 1))  # the layers and the config
image_bytes=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://127.0.0.1:$up_PORT/v2/bench/app/manifests/app" |
  python3 -c 'import json,sys; m=json.load(sys.stdin); print(sum(l["size"] for l in m["layers"]) + m["config"]["size"])')

log "Ceph RGW"
start_rgw
for b in outpost-hub registry-s3; do s3 PUT "$b" -o /dev/null; done
export S3_ACCESS_KEY=$RGW_AK S3_SECRET_KEY=$RGW_SK
s3_yaml() { # BUCKET
  printf 'storage:\n  s3:\n    endpoint: %s\n    bucket: %s\n    access_key_env: S3_ACCESS_KEY\n    secret_key_env: S3_SECRET_KEY\n    insecure: true\n' "$RGW_URL" "$1"
}

log "docker-registry with its s3 driver on the same RGW: push, then pull"
REG=$(free_port)
mkdir -p "$T/regs3"
cat >"$T/regs3/config.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  s3: {accesskey: $RGW_AK, secretkey: $RGW_SK, region: us-east-1, regionendpoint: "$RGW_URL", bucket: registry-s3, secure: false, v4auth: true, rootdirectory: /}
  redirect: {disable: true}
http: {addr: 127.0.0.1:$REG}
YAML
# Without AWS_CA_BUNDLE: the SDK of docker-registry refuses a custom bundle on its plain-http transport.
env -u AWS_CA_BUNDLE docker-registry serve "$T/regs3/config.yml" >"$T/regs3.log" 2>&1 &
started regs3 $! "$REG" "http://127.0.0.1:$REG/v2/"
r0=$(rgw_total)
skopeo_ copy -q --src-tls-verify=false --dest-tls-verify=false "docker://127.0.0.1:$up_PORT/bench/app:app" \
  "docker://127.0.0.1:$REG/bench/app:app"
r1=$(rgw_total)
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$REG/bench/app:app" "dir:$T/regs3-pull"
r2=$(rgw_total)
reg_push=$(python3 -c "print(round(($r1 - $r0) / $blobs, 1))")
reg_serve=$(python3 -c "print(round(($r2 - $r1) / $blobs, 1))")
log "docker-registry s3: $((r1 - r0)) S3 requests to push $blobs blobs, $((r2 - r1)) to serve them"

log "Outpost hub on S3: a cold pull writes each blob back; with the hot tier emptied, a pull reads them"
HUB=$(free_port)
write_outpost_config "$T/hub.yaml" "$HUB" "$T/hub-data" upstream.test "http://127.0.0.1:$up_PORT"
sed -i 's/^listen:/log: {level: warn}\nlisten:/' "$T/hub.yaml"
s3_yaml outpost-hub >>"$T/hub.yaml"
start_outpost hub "$T/hub.yaml"
r0=$(rgw_total)
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$HUB/bench/app:app" "dir:$T/hub-pull1"
for _ in $(seq 600); do [[ $(metric outpost_object_store_upload_queue "$HUB") == 0 ]] && break; sleep 0.1; done
r1=$(rgw_total)
stop_pid "$hub_PID"
for l in "${layers[@]}"; do rm "$T/hub-data/blobs/sha256/${l:7:2}/${l:7}"; done
cfg=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["digest"])' "$T/hub-pull1/manifest.json")
rm "$T/hub-data/blobs/sha256/${cfg:7:2}/${cfg:7}"
start_outpost hub "$T/hub.yaml"
r1b=$(rgw_total)
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$HUB/bench/app:app" "dir:$T/hub-pull2"
r2=$(rgw_total)
log "RGW saw: $(rgw_requests)"
# The manifest blob is written back too: requests per blob counts it among the blobs written. A
# cold blob costs one GET that misses (the bucket is asked before the origin) and one PUT.
op_push=$(python3 -c "print(round(($r1 - $r0) / ($blobs + 1), 1))")
op_serve=$(python3 -c "print(round(($r2 - $r1b) / $blobs, 1))")
log "outpost: $((r1 - r0)) S3 requests to write back $((blobs + 1)) blobs, $((r2 - r1b)) to serve $blobs from S3"

# time_get URL [curl args]: ms for one GET of the whole body
time_get() {
  local s e
  s=$(now_ns)
  curl -sf -o /dev/null "$@"
  e=$(now_ns)
  echo $(((e - s) / 1000000))
}
big=${layers[0]}
log "warm GET of a $LAYER_MB MiB layer: hot tier against the filesystem backend ($ROUNDS rounds)"
FSB=$(free_port)
write_outpost_config "$T/fs.yaml" "$FSB" "$T/fs-data" upstream.test "http://127.0.0.1:$up_PORT"
sed -i 's/^listen:/log: {level: warn}\nlisten:/' "$T/fs.yaml"
start_outpost fs "$T/fs.yaml"
curl -sf -o /dev/null "http://127.0.0.1:$FSB/v2/bench/app/blobs/$big"
hot=() fsb=()
for _ in $(seq "$ROUNDS"); do
  hot+=("$(time_get "http://127.0.0.1:$HUB/v2/bench/app/blobs/$big")")
  fsb+=("$(time_get "http://127.0.0.1:$FSB/v2/bench/app/blobs/$big")")
done
t_hot=$(median "${hot[@]}") t_fs=$(median "${fsb[@]}")
log "runs (ms): hot tier ${hot[*]} | filesystem ${fsb[*]}"

log "a miss served from S3 against a direct S3 GET ($ROUNDS rounds)"
miss=() direct=()
for _ in $(seq "$ROUNDS"); do
  stop_pid "$hub_PID"
  rm -f "$T/hub-data/blobs/sha256/${big:7:2}/${big:7}"
  start_outpost hub "$T/hub.yaml"
  miss+=("$(time_get "http://127.0.0.1:$HUB/v2/bench/app/blobs/$big")")
  direct+=("$(time_get --aws-sigv4 "aws:amz:us-east-1:s3" --user "$RGW_AK:$RGW_SK" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$RGW_URL/outpost-hub/blobs/sha256/${big:7}")")
done
t_miss=$(median "${miss[@]}") t_direct=$(median "${direct[@]}")
log "runs (ms): miss via Outpost ${miss[*]} | direct S3 GET ${direct[*]}"

log "3 hub replicas (a site cluster on one bucket and one PostgreSQL) pull the cold image at once"
stop_pid "$hub_PID"
s3 PUT outpost-three -o /dev/null
start_postgres
before=$(upstream_blob_bytes "$T/up.log")
# (set for good, not for the one call: start_replica reads it again below)
CLUSTER_YAML="$(s3_yaml outpost-three)
metadata:
  postgres:
    url: $PG_URL
    password_env: PGPASSWORD_HUB"
start_cluster "http://127.0.0.1:$up_PORT"
pulls=()
for i in 1 2 3; do
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:${P[i]}/bench/app:app" "dir:$T/three-$i" &
  pulls+=("$!")
done
wait "${pulls[@]}"  # (not a bare wait: the daemons are this shell's children too)
sleep 0.5  # the access log line is written when the response completes
origin_ratio=$(python3 -c "print(round(($(upstream_blob_bytes "$T/up.log") - $before) / $image_bytes, 2))")
log "origin sent ${origin_ratio}x the image's bytes for 3 replicas"
for i in 1 2 3; do
  for _ in $(seq 600); do [[ $(metric outpost_object_store_upload_queue "${P[i]}") == 0 ]] && break; sleep 0.1; done
done
# Writes of the image's blobs (layers and config) into the bucket, multipart starts or single PUTs.
writes=0
for d in "${layers[@]}" "$cfg"; do
  n=$(grep -cE "\"(PUT /outpost-three/blobs/sha256/${d:7} |POST /outpost-three/blobs/sha256/${d:7}\?uploads)" "$T/ceph/client.rgw.log" || true)
  writes=$((writes + n))
done
writes_per_blob=$(python3 -c "print(round($writes / $blobs, 2))")
log "3 replicas wrote $writes objects for $blobs blobs"

log "replicas 1 and 2 stopped, replica 3 restarted with an empty disk: the image again"
stop_pid "$r1_PID"
stop_pid "$r2_PID"
stop_pid "$r3_PID"
rm -rf "$T/r3-data"
start_replica 3
before=$(upstream_blob_bytes "$T/up.log")
s3_before=$(rgw_total)
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:${P[3]}/bench/app:app" "dir:$T/empty-3"
sleep 0.5  # the access log lines are written when the responses complete
empty_origin=$(python3 -c "print(round(($(upstream_blob_bytes "$T/up.log") - $before) / $image_bytes, 2))")
empty_s3=$(python3 -c "print(round(($(rgw_total) - $s3_before) / ($blobs + 1), 2))")
log "an empty replica: origin ${empty_origin}x the image, $empty_s3 S3 requests per object"

ratio() { python3 -c "print(round($1 / $2, 2))"; }
cat <<MD

| measure | Outpost hub on S3 | peer | ratio |
|---|---|---|---|
| S3 requests per blob written | $op_push (a cold blob: one GET that misses, one PUT) | $reg_push (docker-registry s3 driver, push) | $(ratio "$op_push" "$reg_push")× |
| S3 requests per blob served | $op_serve (hot tier empty) | $reg_serve (docker-registry s3 driver, pull) | $(ratio "$op_serve" "$reg_serve")× |
| warm GET of a $LAYER_MB MiB layer | $t_hot ms (hot tier) | $t_fs ms (filesystem backend) | $(ratio "$t_fs" "$t_hot")× throughput |
| a miss served from S3 | $t_miss ms (through Outpost) | $t_direct ms (direct signed S3 GET) | $(ratio "$t_miss" "$t_direct")× time |
| origin bytes, 3 replicas (one bucket, one PostgreSQL) pulling at once | ${origin_ratio}× the image | | |
| bucket writes per blob, 3 replicas pulling at once | $writes_per_blob | | |
| origin bytes, a replica with an empty disk pulling the image | ${empty_origin}× the image | | |
| S3 requests per object (manifest, config, layers), that replica | $empty_s3 | | |
MD
