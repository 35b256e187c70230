#!/usr/bin/env bash
# A release carried in as a file, into the running Outpost: `outpost bundle import --server URL
# FILE` streams a signed 64 MiB bundle to it in chunks. The upload is cut at random points (a proxy
# drops the connection), and the command killed once (-9) in the middle; each time it resumes at
# the bytes the server holds. The progress shows the upload, then the verification.
# Once imported, every image pulls offline byte-identical, with no restart. A tampered bundle and
# one signed by an untrusted key publish nothing and say why; nothing of an upload is left behind.
source "$(dirname "$0")/lib.sh"

start_registry up
shop_images 31 1  # app1:v1 (2 x 31 MB) and app2:multi: a 64 MiB bundle
SITE=$(free_port)
write_outpost_config "$T/site.yaml" "$SITE" "$T/data" upstream.test "http://127.0.0.1:$up_PORT"
trust_release_key "$T/site.yaml"
write_outpost_config "$T/create.yaml" "$(free_port)" "$T/create-data" upstream.test "http://127.0.0.1:$up_PORT"
create() {  # create OUT KEY
  "$OUTPOST_BIN" bundle create --config "$T/create.yaml" --name shop --version v1 \
    --image upstream.test/test/app1:v1 --image upstream.test/test/app2:multi --sign-key "$2" \
    -o "$1" 2>"$T/create.log" || die "bundle create: $(cat "$T/create.log")"
}
create "$T/shop.tar" "$T/release.key"
openssl genpkey -algorithm ed25519 -out "$T/other.key" 2>/dev/null
create "$T/untrusted.tar" "$T/other.key"
python3 "$TOOLS/tamper_bundle.py" flip "$T/shop.tar" "$T/tampered.tar"
size=$(stat -c %s "$T/shop.tar")
log "bundle: $size bytes"
stop_pid "$up_PID"  # the site has no link

start_outpost site "$T/site.yaml"
start_proxy line "$SITE"
SERVER=http://127.0.0.1:$line_PORT
import() { "$OUTPOST_BIN" bundle import --server "$SERVER" "$@"; }
upload_state() { curl -s "http://127.0.0.1:$SITE/api/v1/uploads/shop/v1"; }
held() { upload_state | python3 -c 'import json,sys; print(json.load(sys.stdin).get("offset", 0))' 2>/dev/null || echo 0; }
not_served() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SITE/v2/upstream.test/test/app1/manifests/v1")
  [[ $code == 404 ]] || die "$1: app1:v1 is served (HTTP $code) though nothing was published"
  [[ ! -e $T/data/uploads/shop/v1.part ]] || die "$1: the upload was left behind"
}

log "a tampered bundle: refused with the reason, nothing published"
import "$T/tampered.tar" 2>"$T/tampered.log" && die "a tampered bundle was imported"
grep -q 'is corrupt: content hashes to' "$T/tampered.log" || die "the refusal does not say why: $(tail -3 "$T/tampered.log")"
not_served tampered
log "a bundle signed by an untrusted key: refused, nothing published"
import "$T/untrusted.tar" 2>"$T/untrusted.log" && die "a bundle signed by an untrusted key was imported"
grep -q 'signature does not verify' "$T/untrusted.log" || die "the refusal does not name the signature: $(tail -3 "$T/untrusted.log")"
not_served untrusted

cut1=$(((RANDOM % 24 + 2) * 1000000 + RANDOM))
cut2=$(((RANDOM % 24 + 2) * 1000000 + RANDOM))
# Each cut is followed by one 200 kB into the next connection: libcurl sends a request again by
# itself when a reused connection dies, but not on a fresh one; so every cut reaches the command,
# which must resume from what the server holds.
log "upload cut after $cut1 bytes, the command killed (-9) once it resumed, run again and cut after $cut2 bytes"
echo "upcuts $cut1,200000" >"$line_CTL"
"$OUTPOST_BIN" bundle import --server "$SERVER" "$T/shop.tar" 2>"$T/run1.log" &
run1=$!  # the command itself, not a subshell: -9 must hit it
PIDS+=("$run1")
# Killed once it has resumed: after the second cut (the proxy's control file says pass once both
# happened), while the command waits to retry — never on the first cut alone, which races the resume.
for _ in $(seq 600); do
  grep -q 'upload interrupted' "$T/run1.log" && [[ $(cat "$line_CTL") == pass ]] && (($(held) > 0)) && break
  sleep 0.1
done
grep -q 'upload interrupted' "$T/run1.log" || die "the first cut was not seen: $(tail -3 "$T/run1.log")"
kill -9 "$run1"
wait "$run1" 2>/dev/null || true
[[ $(cat "$line_CTL") == pass ]] || die "the first run's cuts did not both happen: $(cat "$line_CTL")"
echo "upcuts $cut2,200000" >"$line_CTL"
import "$T/shop.tar" 2>"$T/run2.log" || die "the resumed import failed: $(tail -5 "$T/run2.log")"
grep -Eq "resuming the upload at [1-9][0-9]* of $size bytes" "$T/run2.log" ||
  die "the second run did not resume: $(head -5 "$T/run2.log")"
grep -q 'upload interrupted' "$T/run2.log" || die "the second cut was not seen: $(cat "$T/run2.log")"
grep -q 'uploading shop v1' "$T/run2.log" || die "no upload progress: $(cat "$T/run2.log")"
grep -q 'importing' "$T/run2.log" || die "no verification progress: $(cat "$T/run2.log")"
grep -q 'release shop v1 is ready' "$T/run2.log" || die "not reported ready: $(tail -3 "$T/run2.log")"
[[ $(cat "$line_CTL") == pass ]] || die "a planned cut did not happen: $(cat "$line_CTL")"
[[ ! -e $T/data/uploads/shop/v1.part ]] || die "the upload file was left behind"

log "every image offline, byte-identical, no restart"
for img in app1:v1 app2:multi; do
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$SITE/upstream.test/test/$img" "dir:$T/offline-$img" ||
    die "offline pull of $img"
  diff -r "$T/direct-$img" "$T/offline-$img" >/dev/null || die "offline $img differs from upstream"
done
curl -sf "http://127.0.0.1:$SITE/api/v1/releases/shop/v1" | grep_q '"state":"ready"' || die "release not ready in the API"
log "importing it again: already ready, nothing is sent"
import "$T/shop.tar" 2>"$T/again.log" || die "re-import: $(cat "$T/again.log")"
stop_pid "$site_PID"
"$OUTPOST_BIN" fsck --data-dir "$T/data" >"$T/fsck" || die "fsck: $(cat "$T/fsck")"
log "ok"
