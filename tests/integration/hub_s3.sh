#!/usr/bin/env bash
# A hub whose blobs live in an S3 bucket (Ceph RGW from Debian, started here on loopback), with
# the local store as its hot tier, in front of a docker-registry origin:
# - a cold pull is served, and every blob it brought lands in the bucket once (write-back);
# - with the local copies gone and the origin stopped, the blobs come from the bucket;
# - RGW stopped: cached content is served, a cold pull still works from the origin, its uploads
#   wait (status: "object store down, N blobs waiting"); RGW back: the queue drains;
# - an object overwritten by hand in the bucket is refused (digest), fetched from the origin
#   again and uploaded over the bad one;
# - `storage migrate` moves a filesystem hub's blobs into a bucket and its meta.db into
#   PostgreSQL, resumably; a replica with an empty disk then serves its image, origin down;
# - wrong credentials and a missing bucket stop the start with an error naming the bucket and
#   S3's error code.
source "$(dirname "$0")/lib.sh"

start_app_registry
start_rgw
s3 PUT outpost-hub -o /dev/null -w '%{http_code}' | grep_q 200 || die "cannot create the bucket"

export S3_ACCESS_KEY=$RGW_AK S3_SECRET_KEY=$RGW_SK
hub_config() { # FILE PORT DATA BUCKET
  write_outpost_config "$1" "$2" "$3" upstream.test "http://127.0.0.1:$up_PORT"
  cat >>"$1" <<YAML
storage:
  s3:
    endpoint: $RGW_URL
    bucket: $4
    prefix: eu/
    access_key_env: S3_ACCESS_KEY
    secret_key_env: S3_SECRET_KEY
    insecure: true
    timeout: 3s
    max_attempts: 2
YAML
}
HUB=$(free_port)
hub_config "$T/hub.yaml" "$HUB" "$T/data" outpost-hub
start_outpost hub "$T/hub.yaml"

try_pull() { # IMG DIR: skopeo pulls test/app:IMG through the hub, identical to the origin's
  [[ -d $T/direct-$1 ]] ||
    skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$up_PORT/test/app:$1" "dir:$T/direct-$1" ||
    die "direct pull of $1"
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$HUB/test/app:$1" "dir:$T/$2" &&
    diff -r "$T/direct-$1" "$T/$2" >/dev/null
}
pull() { try_pull "$@" || die "pull of $1 through the hub failed or differs"; }
queue() { metric outpost_object_store_upload_queue "$HUB"; }
wait_drained() {
  for _ in $(seq 300); do [[ $(queue) == 0 ]] && return 0; sleep 0.1; done
  die "the upload queue did not drain: $(queue) waiting"
}
# bucket_blobs: "<hex> <size>" of every blob object in the bucket
bucket_blobs() {
  s3 GET "outpost-hub?list-type=2&prefix=eu%2Fblobs%2F" | python3 -c '
import re, sys
x = sys.stdin.read()
for k, s in re.findall(r"<Key>eu/blobs/sha256/([0-9a-f]{64})</Key>.*?<Size>(\d+)</Size>", x):
    print(k, s)'
}
local_blobs() { find "$T/data/blobs" -type f -printf '%f %s\n' | sort; }

log "cold pull: served, and every blob it brought is uploaded once"
pull v1 got-v1
wait_drained
[[ $(bucket_blobs | sort) == "$(local_blobs)" ]] ||
  die "bucket and local store differ:"$'\n'"$(bucket_blobs | sort)"$'\n'"---"$'\n'"$(local_blobs)"$'\n'"$(curl -s "http://127.0.0.1:$HUB/metrics" | grep -E 'outpost_(s3|object)')"
log "the bucket holds the $(bucket_blobs | wc -l) blobs of v1"

log "local blob copies gone, origin stopped: the blobs come from the bucket"
layers=$(upstream_layers "$up_PORT" test/app v1)
stop_pid "$hub_PID"
for l in $layers; do rm "$T/data/blobs/sha256/${l:7:2}/${l:7}"; done
stop_pid "$up_PID"
start_outpost hub "$T/hub.yaml"
uploads() { metric 'outpost_object_store_uploads_total{outcome="ok"}' "$HUB"; }
uploads0=$(uploads)
pull v1 again-v1
for l in $layers; do [[ -f $T/data/blobs/sha256/${l:7:2}/${l:7} ]] || die "layer $l was not read back into the hot tier"; done
wait_drained
[[ $(uploads) == "$uploads0" ]] || die "blobs read from the bucket were uploaded again ($uploads0 -> $(uploads))"
docker-registry serve "$T/up/config.yml" >>"$T/up.log" 2>&1 &
started up $! "$up_PORT" "http://127.0.0.1:$up_PORT/v2/"

log "RGW stopped: cached content served, a cold pull works, its uploads wait"
stop_rgw
pull v1 cached-v1
pull multi got-multi
(($(queue) > 0)) || die "the cold pull queued nothing while S3 was down"
curl -sf "http://127.0.0.1:$HUB/api/v1/status" | grep_q '"summary":"object store down, [1-9][0-9]* blobs waiting"' ||
  die "status does not say the object store is down: $(curl -s "http://127.0.0.1:$HUB/api/v1/status" | python3 -c "import json,sys; print(json.load(sys.stdin).get('object_store'))")"
log "RGW back: the queue drains"
restart_rgw
wait_drained
[[ $(bucket_blobs | sort) == "$(local_blobs)" ]] || die "after the outage the bucket misses blobs"

log "an object overwritten in the bucket is refused, fetched again and uploaded over"
bad=$(sed -n 1p <<<"$layers")
printf 'not the layer' >"$T/garbage"
s3 PUT "outpost-hub/eu/blobs/sha256/${bad:7}" -T "$T/garbage" -o /dev/null
stop_pid "$hub_PID"
rm "$T/data/blobs/sha256/${bad:7:2}/${bad:7}"
start_outpost hub "$T/hub.yaml"
# The first pull may be cut (its reader saw unverified bytes); the layer then comes from the origin.
try_pull v1 after-corrupt-1 || log "the first pull after the corruption failed, as it may"
pull v1 after-corrupt-2
wait_drained
s3 GET "outpost-hub/eu/blobs/sha256/${bad:7}" -o "$T/fixed"
[[ $(sha256sum <"$T/fixed" | cut -d' ' -f1) == "${bad:7}" ]] || die "the corrupt object was not replaced"
grep_q "does not match its digest" "$T/hub.log" || die "the corrupt object was not reported"

log "fsck: every record has its object; an object no record names is listed, not deleted"
stop_pid "$hub_PID"
orphan=$(printf 'orphan %s' "$RANDOM" | sha256sum | cut -d' ' -f1)
printf 'orphan' >"$T/orphan"
s3 PUT "outpost-hub/eu/blobs/sha256/$orphan" -T "$T/orphan" -o /dev/null
"$OUTPOST_BIN" fsck --config "$T/hub.yaml" >"$T/fsck.out" 2>&1 || die "fsck: $(cat "$T/fsck.out")"
grep_q "orphan object (no record): $orphan" "$T/fsck.out" || die "fsck did not list the orphan: $(cat "$T/fsck.out")"
s3 GET "outpost-hub/eu/blobs/sha256/$orphan" | grep_q orphan || die "fsck deleted the orphan"

log "gc --all on the hot tier: local copies go, records stay, pulls come from the bucket"
"$OUTPOST_BIN" gc --config "$T/hub.yaml" --all >"$T/gc.out" 2>&1 || die "gc: $(cat "$T/gc.out")"
for l in $layers; do [[ ! -f $T/data/blobs/sha256/${l:7:2}/${l:7} ]] || die "gc kept the local copy of $l"; done
"$OUTPOST_BIN" fsck --config "$T/hub.yaml" >"$T/fsck-gc.out" 2>&1 || die "fsck after gc: $(cat "$T/fsck-gc.out")"
grep_q "dropped" "$T/fsck-gc.out" && die "fsck dropped records held in the bucket: $(cat "$T/fsck-gc.out")"
stop_pid "$up_PID"
start_outpost hub "$T/hub.yaml"
pull v1 after-gc-v1
stop_pid "$hub_PID"
docker-registry serve "$T/up/config.yml" >>"$T/up.log" 2>&1 &
started up $! "$up_PORT" "http://127.0.0.1:$up_PORT/v2/"

log "storage migrate: a filesystem hub's blobs go to a new bucket, resumably"
s3 PUT migrated -o /dev/null
FS=$(free_port)
write_outpost_config "$T/fs.yaml" "$FS" "$T/fs-data" upstream.test "http://127.0.0.1:$up_PORT"
start_outpost fs "$T/fs.yaml"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$FS/test/app:multi" "dir:$T/fs-multi" || die "filesystem hub pull"
stop_pid "$fs_PID"
hub_config "$T/migrated.yaml" "$FS" "$T/fs-data" migrated
start_postgres  # the metadata half goes to PostgreSQL
printf 'metadata:\n  postgres:\n    url: %s\n    password_env: PGPASSWORD_HUB\n' "$PG_URL" >>"$T/migrated.yaml"
"$OUTPOST_BIN" storage migrate --config "$T/migrated.yaml" >"$T/migrate.out" 2>&1 || die "migrate: $(cat "$T/migrate.out")"
n=$(find "$T/fs-data/blobs" -type f | wc -l)
grep_q "uploaded $n blobs" "$T/migrate.out" || die "migrate did not upload the $n blobs: $(cat "$T/migrate.out")"
"$OUTPOST_BIN" storage migrate --config "$T/migrated.yaml" >"$T/migrate2.out" 2>&1 || die "second migrate"
grep_q "uploaded 0 blobs" "$T/migrate2.out" || die "a second migrate sent blobs again: $(cat "$T/migrate2.out")"
"$OUTPOST_BIN" fsck --config "$T/migrated.yaml" >"$T/fsck2.out" 2>&1 || die "fsck after migrate: $(cat "$T/fsck2.out")"
grep_q "bucket migrated: $n blob objects" "$T/fsck2.out" || die "fsck after migrate: $(cat "$T/fsck2.out")"
grep_q "metadata copied to postgres .*[1-9][0-9]* tag rows" "$T/migrate.out" || die "metadata not copied: $(cat "$T/migrate.out")"
log "a replica with an empty disk on the migrated bucket and database serves the hub's image,"
log "origin down"
stop_pid "$up_PID"
sed "s|data_dir: .*|data_dir: $T/fresh-data|" "$T/migrated.yaml" >"$T/fresh.yaml"
start_outpost fresh "$T/fresh.yaml"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$FS/test/app:multi" "dir:$T/fresh-multi" ||
  die "the migrated hub's image through an empty replica"
diff -r "$T/fs-multi" "$T/fresh-multi" >/dev/null || die "the migrated image differs"
log "a blob neither the bucket nor a reachable source holds: a clear error"
! skopeo_ copy -q --all --src-tls-verify=false "docker://127.0.0.1:$FS/test/app:multi" "dir:$T/fresh-all" 2>"$T/fresh-all.err" ||
  die "the other platform's image, never fetched, was served"
missing=$(grep -o -m 1 'sha256:[0-9a-f]*' "$T/fresh-all.err")
curl -s "http://127.0.0.1:$FS/v2/test/app/blobs/$missing" >"$T/fresh-all.body"
grep_q "every source is down" "$T/fresh-all.body" || die "unclear error: $(cat "$T/fresh-all.body")"
stop_pid "$fresh_PID"

log "wrong credentials and a missing bucket: a clear start-up error"
BAD=$(free_port)
hub_config "$T/bad.yaml" "$BAD" "$T/bad-data" outpost-hub
S3_SECRET_KEY=wrong "$OUTPOST_BIN" serve --config "$T/bad.yaml" >"$T/bad.out" 2>&1 && die "started with a wrong secret"
grep -E 'outpost-hub.*(SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied)' "$T/bad.out" >/dev/null ||
  die "no clear error for wrong credentials: $(cat "$T/bad.out")"
hub_config "$T/nobucket.yaml" "$BAD" "$T/bad-data" no-such-bucket
"$OUTPOST_BIN" serve --config "$T/nobucket.yaml" >"$T/nobucket.out" 2>&1 && die "started without its bucket"
grep_q 'no-such-bucket.*NoSuchBucket' "$T/nobucket.out" || die "no clear error for a missing bucket: $(cat "$T/nobucket.out")"
log "ok"
