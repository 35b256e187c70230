#!/usr/bin/env bash
# GC and crashes on a hub's shared storage: three replicas on one bucket (Ceph RGW) and one
# PostgreSQL, in front of a docker-registry origin.
# - kill -9 of a replica mid-upload (its S3 link made slow by the fault proxy): the others
#   complete their pulls and the upload, no partial object is visible, and `outpost fsck` is clean;
# - GC on replica 2 while replica 1 pins a release: an object unreferenced for less than the grace
#   period stays; the leader's lock makes a second collector stand aside; a dry run deletes
#   nothing; then the unreferenced objects go (batched DeleteObjects), the pinned ones stay, and
#   every tag the database holds is still pulled whole by a replica with an empty disk and the
#   origin down;
# - the orphan sweep reports an object no record names, deletes it only when asked.
source "$(dirname "$0")/lib.sh"

shop_v1_and_hub  # the origin "up": test/app1:v1, test/app2:multi, oci://upstream.test/bundles/shop:v1
python3 "$TOOLS/make_image.py" "$T/layout" big --layer-mb 24 --layers 1 --seed big >/dev/null
push_image "$T/layout" big "$up_PORT" test/big
start_rgw
s3 PUT outpost-hub -o /dev/null -w '%{http_code}' | grep_q 200 || die "cannot create the bucket"
start_postgres

# Every pull checks its tag upstream and waits for the answer: a tag moved upstream is served
# (and recorded) by the next pull, not by a background check that may still be running.
REPLICA_REGISTRY=("tag_ttl: 0s" "revalidate: inline")
CLUSTER_YAML=$(hub_yaml "$RGW_URL" "multipart_threshold: 5242880" "part_size: 5242880" "gc_interval: 0s")
start_cluster "http://127.0.0.1:$up_PORT"

pull() { # I REPO:TAG DIR: skopeo pulls upstream test/REPO:TAG through replica I
  skopeo_ copy -q --all --src-tls-verify=false "docker://127.0.0.1:${P[$1]}/test/$2" "dir:$T/$3" ||
    die "pull of $2 through replica $1"
}
wait_drained() {
  local i
  for i in "$@"; do
    for _ in $(seq 600); do [[ $(metric outpost_object_store_upload_queue "${P[$i]}") == 0 ]] && continue 2; sleep 0.1; done
    die "replica $i's upload queue did not drain"
  done
}
bucket_keys() {
  s3 GET "outpost-hub?list-type=2&prefix=blobs%2F" | python3 -c '
import re, sys
for k, s in re.findall(r"<Key>blobs/sha256/([0-9a-f]{64})</Key>.*?<Size>(\d+)</Size>", sys.stdin.read()):
    print(k, s)'
}
advisory_locks() { psql_q "SELECT count(*) FROM pg_locks WHERE locktype='advisory' AND granted"; }

log "kill -9 of replica 1 mid-upload: replica 2 completes the pull and the upload"
start_proxy s3link "$RGW_PORT"
sed -i "s|endpoint: $RGW_URL|endpoint: http://127.0.0.1:$s3link_PORT|; s|    timeout: 3s|    timeout: 30s|" "$T/r1.yaml"
stop_pid "$r1_PID"
stop_pid "$r2_PID"  # replica 1 alone fetches (and so uploads) the image
stop_pid "$r3_PID"
start_outpost r1 "$T/r1.yaml"
echo "rtt 1500" >"$s3link_CTL"  # every S3 exchange of replica 1 takes 1.5 s more
pull 1 big:big r1-big
for _ in $(seq 600); do
  [[ $(metric 'outpost_s3_requests_total{op="put_part",outcome="ok"}' "${P[1]}") != 0 ]] && break
  sleep 0.1
done
[[ $(metric 'outpost_s3_requests_total{op="put_part",outcome="ok"}' "${P[1]}") != 0 ]] ||
  die "replica 1 never got into its multipart upload"
[[ $(advisory_locks) -ge 1 ]] || die "replica 1 uploads without holding its claim"
start_replica 2
pull 2 big:big r2-big
stop_pid "$r1_PID" KILL
wait_drained 2
layer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"][7:])' "$T/r2-big/manifest.json")
size=$(stat -c %s "$T/r2-big/$layer")
bucket_keys | grep_q "^$layer $size\$" || die "the big layer is not whole in the bucket: $(bucket_keys)"
"$OUTPOST_BIN" fsck --config "$T/r2.yaml" >"$T/fsck.txt" 2>&1 || die "fsck: $(cat "$T/fsck.txt")"
grep_q "fsck: clean" "$T/fsck.txt" || die "fsck: $(cat "$T/fsck.txt")"
echo pass >"$s3link_CTL"
start_replica 1
start_replica 3

log "replica 1 pins release shop v1; test/app1:moving is pulled as v2, then moves to v1 upstream"
"$OUTPOST_BIN" bundle ensure --server "http://127.0.0.1:${P[1]}" --source oci://upstream.test/bundles/shop:v1 \
  --name shop --version v1 --timeout 2m >"$T/ensure.log" 2>&1 || die "bundle ensure: $(cat "$T/ensure.log")"
skopeo_ copy -q --dest-tls-verify=false "oci:$T/layout:v2" "docker://127.0.0.1:$up_PORT/test/app1:moving"
pull 2 app1:moving moving-v2
skopeo_ copy -q --dest-tls-verify=false "oci:$T/layout:v1" "docker://127.0.0.1:$up_PORT/test/app1:moving"
pull 2 app1:moving moving-v1
cmp -s "$T/moving-v1/manifest.json" "$T/direct-app1:v1/manifest.json" ||
  die "test/app1:moving through replica 2 is not v1 after it moved"
wait_drained 1 2 3
v2_objects=$( (sha256sum "$T/moving-v2/manifest.json" | cut -c1-64; ls "$T/moving-v2" | grep -E '^[0-9a-f]{64}$') | sort)
[[ $(echo "$v2_objects" | wc -l) == 3 ]] || die "v2 should be 3 objects: $v2_objects"
for o in $v2_objects; do bucket_keys | grep_q "^$o " || die "v2's $o is not in the bucket"; done
before=$(bucket_keys | wc -l)

gc() { "$OUTPOST_BIN" gc --config "$T/r2.yaml" "$@" 2>>"$T/gc.err"; }
log "gc within the grace period: marked, nothing deleted"
gc --bucket --grace 1h >"$T/gc1.txt" || die "gc: $(cat "$T/gc1.txt" "$T/gc.err")"
grep_q "3 newly unreferenced" "$T/gc1.txt" || die "gc: $(cat "$T/gc1.txt")"
grep_q "deleted 0 objects" "$T/gc1.txt" || die "gc: $(cat "$T/gc1.txt")"

log "another collector holds the leader's lock: gc stands aside"
PGPASSWORD=$PG_PASSWORD "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U outpost -d outpost \
  -c "SELECT pg_advisory_lock(8031453536740144231)" -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do [[ $(advisory_locks) -ge 1 ]] && break; sleep 0.1; done
gc --bucket --grace 0s >"$T/gc2.txt" || die "gc: $(cat "$T/gc2.txt" "$T/gc.err")"
grep_q "another replica is collecting" "$T/gc2.txt" || die "gc with the lock held elsewhere: $(cat "$T/gc2.txt")"
psql_q "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype='advisory'" >/dev/null

log "dry run: reports the 3 objects of v2, deletes nothing"
gc --bucket --dry-run --grace 0s >"$T/gc3.txt" || die "gc: $(cat "$T/gc3.txt" "$T/gc.err")"
grep_q "would delete 3 objects" "$T/gc3.txt" || die "dry run: $(cat "$T/gc3.txt")"
[[ $(bucket_keys | wc -l) == "$before" ]] || die "the dry run deleted"

log "gc: the unreferenced objects go, the pinned ones stay"
gc --bucket --grace 0s >"$T/gc4.txt" || die "gc: $(cat "$T/gc4.txt" "$T/gc.err")"
grep_q "deleted 3 objects" "$T/gc4.txt" || die "gc: $(cat "$T/gc4.txt")"
for o in $v2_objects; do ! bucket_keys | grep_q "^$o " || die "v2's $o is still in the bucket"; done
[[ $(bucket_keys | wc -l) == $((before - 3)) ]] || die "gc deleted more than v2's objects"
[[ $(psql_q "SELECT count(*) FROM manifests WHERE digest='sha256:$(sha256sum "$T/moving-v2/manifest.json" | cut -c1-64)'") == 0 ]] ||
  die "the deleted manifest is still recorded"

log "every tag the database holds is pulled (this platform's image, what the release holds) from"
log "the bucket: empty replica, origin down"
stop_pid "$up_PID"
stop_pid "$r1_PID"
stop_pid "$r2_PID"
stop_pid "$r3_PID"
rm -rf "$T/r3-data"
start_replica 3
for t in $(psql_q "SELECT repo || ':' || tag FROM tags WHERE upstream='upstream.test' AND position('#' in tag) = 0"); do
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:${P[3]}/$t" "dir:$T/final-${t//[\/:]/-}" ||
    die "pull of $t through the empty replica"
done
"$OUTPOST_BIN" fsck --config "$T/r3.yaml" >"$T/fsck2.txt" 2>&1 || die "fsck after gc: $(cat "$T/fsck2.txt")"

log "orphan sweep: reported first, deleted when asked"
orphan=$(head -c 100 /dev/urandom | sha256sum | cut -c1-64)
s3 PUT "outpost-hub/blobs/sha256/$orphan" --data-binary "not a blob" -o /dev/null
gc --orphans --grace 0s >"$T/orph1.txt" || die "orphans: $(cat "$T/orph1.txt" "$T/gc.err")"
grep_q "^orphan $orphan 10\$" "$T/orph1.txt" || die "orphan not reported: $(cat "$T/orph1.txt")"
grep_q "none deleted" "$T/orph1.txt" || die "orphans: $(cat "$T/orph1.txt")"
bucket_keys | grep_q "^$orphan " || die "the report deleted the orphan"
gc --orphans --delete --grace 0s >"$T/orph2.txt" || die "orphans: $(cat "$T/orph2.txt" "$T/gc.err")"
grep_q "1 deleted" "$T/orph2.txt" || die "orphans --delete: $(cat "$T/orph2.txt")"
! bucket_keys | grep_q "^$orphan " || die "the orphan is still in the bucket"
[[ $(bucket_keys | wc -l) == $((before - 3)) ]] || die "the sweep deleted more than the orphan"
log "ok"
