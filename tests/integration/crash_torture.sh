#!/usr/bin/env bash
# Crash torture: CRASH_CYCLES rounds (12 in CI; CRASH_CYCLES=50 by hand) of kill -9 at a random
# moment while Outpost ingests blobs (cold pulls over a slow link), imports a release bundle (over
# a slow link, through the API) and syncs a Git mirror (a new upstream commit every round, synced
# every second). After every kill `outpost fsck` passes (every blob re-hashed, metadata matches
# the files). At the end every interrupted job completes on retry: all images pull byte-identical,
# every release becomes ready, the mirror advertises upstream's HEAD, and fsck is clean.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"
CYCLES=${CRASH_CYCLES:-12}

start_registry up
mkdir -p "$T/www"
write_outpost_config "$T/create.yaml" "$(free_port)" "$T/create-data" upstream.test "http://127.0.0.1:$up_PORT"
# new_work C: a fresh image test/rC and a release bundle shop vC of it, so every round has a cold
# ingest and an import to interrupt
new_work() {
  python3 "$TOOLS/make_image.py" "$T/layout" "r$1" --layer-mb 1 --layers 3 --seed "round$1" >/dev/null
  push_image "$T/layout" "r$1" "$up_PORT" "test/r$1"
  python3 "$TOOLS/make_image.py" "$T/layout" "b$1" --layer-mb 2 --layers 1 --seed "bundle$1" >/dev/null
  push_image "$T/layout" "b$1" "$up_PORT" "test/b$1"
  "$OUTPOST_BIN" bundle create --config "$T/create.yaml" --name shop --version "v$1" \
    --image "upstream.test/test/b$1:b$1" -o "$T/www/shop-v$1.tar" 2>>"$T/create.log" || die "bundle create v$1"
}
WP=$(free_port)
start_nginx web "$WP" 1 "  access_log off;
  server { listen 127.0.0.1:$WP; root $T/www; }"
start_proxy px "$up_PORT"
start_proxy pw "$WP"
echo "rate 3000000" >"$px_CTL"
echo "rate 3000000" >"$pw_CTL"
start_git_upstream
make_manifest_repo org/app

OP=$(free_port)
write_git_outpost_config "$T/serve.yaml" "$OP" "$T/data" "sync_interval: 1s"
cat >>"$T/serve.yaml" <<YAML
registry:
  default_upstream: upstream.test
  upstreams:
    - name: upstream.test
      url: http://127.0.0.1:$px_PORT
      insecure: true
storage:
  keep_releases: 1000
YAML
API=http://127.0.0.1:$OP
git clone -q "http://127.0.0.1:$GIT_UP_PORT/org/app.git" "$T/seed" 2>/dev/null || true

for c in $(seq 1 "$CYCLES"); do
  new_work "$c"
  start_outpost op "$T/serve.yaml"
  commit_upstream org/app "round $c" >/dev/null
  jobs=()
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/r$c:r$c" \
    "dir:$T/pull-$c" >/dev/null 2>&1 & jobs+=($!)
  curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d "{\"source\":\"http://127.0.0.1:$pw_PORT/shop-v$c.tar\",\"name\":\"shop\",\"version\":\"v$c\"}" \
    "$API/api/v1/releases" & jobs+=($!)
  git ls-remote "$API/git/git.test/org/app.git" >/dev/null 2>&1 & jobs+=($!)
  delay=$(python3 -c "import random; print(round(random.uniform(0.1, 1.8), 2))")
  sleep "$delay"
  tmp=$(du -sb "$T/data/tmp" 2>/dev/null | cut -f1)
  kill -KILL "$op_PID"
  for j in "${jobs[@]}"; do wait "$j" 2>/dev/null || true; done
  "$OUTPOST_BIN" fsck --data-dir "$T/data" >"$T/fsck.$c" 2>&1 || die "round $c: fsck failed: $(cat "$T/fsck.$c")"
  log "round $c: kill -9 after ${delay}s (${tmp:-0} bytes in tmp/); fsck: $(head -1 "$T/fsck.$c")"
done

log "restart: every interrupted job completes on retry"
echo pass >"$px_CTL"
echo pass >"$pw_CTL"
start_outpost op "$T/serve.yaml"
for c in $(seq 1 "$CYCLES"); do
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$up_PORT/test/r$c:r$c" "dir:$T/direct-$c"
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/r$c:r$c" "dir:$T/final-$c" ||
    die "pull r$c after the crashes"
  diff -r "$T/direct-$c" "$T/final-$c" >/dev/null || die "r$c differs from upstream"
  "$OUTPOST_BIN" bundle ensure --server "$API" --source "http://127.0.0.1:$pw_PORT/shop-v$c.tar" \
    --name shop --version "v$c" --timeout 2m 2>"$T/ensure-$c.log" || die "release v$c: $(cat "$T/ensure-$c.log")"
done
want=$(git -C "$T/work/org/app" rev-parse HEAD)
for _ in $(seq 100); do
  got=$(git ls-remote "$API/git/git.test/org/app.git" refs/heads/main | cut -f1)
  [[ $got == "$want" ]] && break
  sleep 0.2
done
[[ $got == "$want" ]] || die "mirror advertises $got, upstream is at $want"
git clone -q "$API/git/git.test/org/app.git" "$T/clone" || die "clone after the crashes"
stop_pid "$op_PID"
"$OUTPOST_BIN" fsck --data-dir "$T/data" >"$T/fsck.final" || die "final fsck: $(cat "$T/fsck.final")"
grep -q 'fsck: clean' "$T/fsck.final" || die "final fsck: $(cat "$T/fsck.final")"
log "$CYCLES crashes survived; $(head -1 "$T/fsck.final")"
log "ok"
