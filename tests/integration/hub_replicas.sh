#!/usr/bin/env bash
# Three hub replicas on one bucket (Ceph RGW) and one PostgreSQL database (both started here on
# loopback), in front of a docker-registry origin seen through a recording proxy:
# - the schema is migrated once, under the advisory lock, by whichever replica starts first;
# - 10 concurrent cold pulls spread over the replicas: the origin sends each blob once, and each
#   blob is written to the bucket once;
# - a replica restarted with an empty disk pulls everything with 0 origin requests (tags and
#   manifests records from the database, bytes from the bucket);
# - a tag resolved by replica 1 is served by replica 2 with the origin down and replica 1 gone;
# - PostgreSQL stopped: known tags are served from the local read copy, a new resolution is
#   served but not shared, and the status says so; back: the status says up;
# - a wrong database password stops the start with PostgreSQL's error.
source "$(dirname "$0")/lib.sh"

start_app_registry
python3 "$TOOLS/make_image.py" "$T/layout" v2 --layer-mb 1 --layers 3 --seed second >/dev/null
push_image "$T/layout" v2 "$up_PORT" test/app
start_recording_proxy origin "$up_PORT"
start_rgw
s3 PUT outpost-hub -o /dev/null -w '%{http_code}' | grep_q 200 || die "cannot create the bucket"
start_postgres

CLUSTER_YAML=$(hub_yaml "$RGW_URL")
start_cluster "http://127.0.0.1:$origin_PORT"

log "the schema was migrated once"
[[ $(psql_q "SELECT string_agg(version::text, ',' ORDER BY version) FROM outpost_schema") == 1,2,3 ]] ||
  die "outpost_schema: $(psql_q 'SELECT * FROM outpost_schema')"

direct() { # TAG: the image as the origin serves it, in $T/direct-TAG
  [[ -d $T/direct-$1 ]] ||
    skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$up_PORT/test/app:$1" "dir:$T/direct-$1" ||
    die "direct pull of $1"
}
pull() { # I TAG DIR: skopeo pulls test/app:TAG through replica I, identical to the origin's
  direct "$2"
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:${P[$1]}/test/app:$2" "dir:$T/$3" ||
    die "pull of $2 through replica $1 failed"
  diff -r "$T/direct-$2" "$T/$3" >/dev/null || die "$2 through replica $1 differs from the origin's"
}
origin_blob_gets() { grep -c '^GET /v2/test/app/blobs/' "$T/origin-requests.log" || true; }
uploads() { # total blobs uploaded by the three replicas
  local i n=0
  for i in 1 2 3; do n=$((n + $(metric 'outpost_object_store_uploads_total{outcome="ok"}' "${P[$i]}"))); done
  echo "$n"
}
wait_drained() {
  local i
  for i in 1 2 3; do
    for _ in $(seq 300); do [[ $(metric outpost_object_store_upload_queue "${P[$i]}") == 0 ]] && break; sleep 0.1; done
  done
}
bucket_blobs() {
  s3 GET "outpost-hub?list-type=2&prefix=blobs%2F" | python3 -c '
import re, sys
print("\n".join(sorted(re.findall(r"<Key>blobs/sha256/([0-9a-f]{64})</Key>", sys.stdin.read()))))'
}

log "10 concurrent cold pulls of v1, spread over the replicas"
pids=()
for n in $(seq 10); do
  i=$(((n % 3) + 1))
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:${P[$i]}/test/app:v1" "dir:$T/cold-$n" \
    >"$T/cold-$n.log" 2>&1 &
  pids+=("$!")
done
for n in $(seq 10); do wait "${pids[$((n - 1))]}" || die "cold pull $n: $(cat "$T/cold-$n.log")"; done
direct v1
for n in $(seq 10); do diff -r "$T/direct-v1" "$T/cold-$n" >/dev/null || die "cold pull $n differs"; done
wait_drained
blobs=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(1+len(m["layers"]))' "$T/direct-v1/manifest.json")
gets=$(grep '^GET /v2/test/app/blobs/' "$T/origin-requests.log" | awk '{print $2}' | sort | uniq -c | awk '$1>1')
[[ -z $gets ]] || die "the origin sent a blob more than once:"$'\n'"$gets"
[[ $(origin_blob_gets) == "$blobs" ]] || die "the origin sent $(origin_blob_gets) blobs, the image has $blobs"
[[ $(uploads) == "$(bucket_blobs | wc -l)" ]] ||
  die "$(uploads) uploads for $(bucket_blobs | wc -l) objects in the bucket (each once expected)"
log "origin: $blobs blob GETs for $blobs blobs; bucket: $(bucket_blobs | wc -l) objects, $(uploads) uploads"

log "v2 resolved by replica 1 only"
pull 1 v2 r1-v2
wait_drained
[[ $(psql_q "SELECT count(*) FROM tags WHERE repo='test/app' AND tag='v2'") == 1 ]] ||
  die "the database lacks test/app:v2"

log "replicas 1 and 2 stopped, replica 3 restarted with an empty disk: v1 and v2 come from the"
log "database and the bucket, with 0 origin requests"
stop_pid "$r1_PID"
stop_pid "$r2_PID"
stop_pid "$r3_PID"
rm -rf "$T/r3-data"
: >"$T/origin-requests.log"
start_replica 3
pull 3 v1 r3-v1
pull 3 v2 r3-v2
[[ ! -s $T/origin-requests.log ]] || die "the empty replica asked the origin:"$'\n'"$(cat "$T/origin-requests.log")"
down=$(metric 'outpost_s3_bytes_total{direction="down"}' "${P[3]}")
[[ ${down%.*} -ge $(du -sb "$T/direct-v1" | cut -f1) ]] || die "replica 3 read only $down bytes from the bucket"

log "origin down, replica 1 gone: replica 2 serves the v2 that replica 1 resolved"
stop_pid "$up_PID"
start_replica 2
pull 2 v2 r2-v2

log "PostgreSQL stopped: known tags are served from the local read copy; a new one is served"
log "but not shared"
docker-registry serve "$T/up/config.yml" >>"$T/up.log" 2>&1 &
PIDS+=("$!")
up_PID=$!
wait_http "http://127.0.0.1:$up_PORT/v2/"
stop_postgres
pull 2 v1 r2-v1-nodb
pull 3 v2 r3-v2-nodb
skopeo_ copy -q --all --src-tls-verify=false "docker://127.0.0.1:${P[2]}/test/app:multi" "dir:$T/r2-multi" ||
  die "a new tag through replica 2 with the database down"
status=$(curl -s "http://127.0.0.1:${P[2]}/api/v1/status")
python3 - "$status" <<'PY' || die "status while the database is down: $status"
import json, sys
m = json.loads(sys.argv[1])["metadata"]
assert m["backend"] == "postgres" and m["up"] is False, m
assert m["unshared_writes"] > 0, m
assert m["summary"].startswith("metadata database down"), m
assert "not shared" in m["summary"], m
PY
"$OUTPOST_BIN" status --server "http://127.0.0.1:${P[2]}" >"$T/status.txt" 2>&1 || true
grep_q "metadata database down" "$T/status.txt" || die "outpost status: $(cat "$T/status.txt")"
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${P[2]}/readyz" | grep_q 200 ||
  die "a replica that reached the database once went unready in its outage"

log "PostgreSQL back: the status says up"
restart_postgres
for _ in $(seq 100); do
  pull 2 v1 r2-v1-back
  curl -s "http://127.0.0.1:${P[2]}/api/v1/status" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["metadata"]["up"] else 1)' && break
  sleep 0.2
done
curl -s "http://127.0.0.1:${P[2]}/api/v1/status" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["metadata"]["up"] else 1)' ||
  die "the status did not come back up"

log "a wrong database password stops the start with PostgreSQL's error"
sed "s/^listen: .*/listen: 127.0.0.1:$(free_port)/; s|data_dir: .*|data_dir: $T/bad-data|" "$T/r2.yaml" >"$T/bad.yaml"
if PGPASSWORD_HUB=wrong "$OUTPOST_BIN" serve --config "$T/bad.yaml" >"$T/bad.log" 2>&1; then
  die "started with a wrong password"
fi
grep_q "password authentication failed" "$T/bad.log" || die "no clear error: $(cat "$T/bad.log")"
log "ok"
