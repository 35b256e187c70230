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
M=4 K=3

start_registry up
for i in $(seq 0 $((M - 1))); do
  python3 "$TOOLS/make_image.py" "$T/layout" "img$i" --layer-mb 2 --layers 2 --seed "img$i" >/dev/null
  push_image "$T/layout" "img$i" "$up_PORT" "test/img$i"
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$up_PORT/test/img$i:img$i" "dir:$T/direct-$i"
done
mkdir -p "$T/www"
write_outpost_config "$T/create.yaml" "$(free_port)" "$T/create-data" upstream.test "http://127.0.0.1:$up_PORT"
for k in $(seq 0 $((K - 1))); do
  python3 "$TOOLS/make_image.py" "$T/layout" "rel$k" --layer-mb 3 --layers 1 --seed "rel$k" >/dev/null
  push_image "$T/layout" "rel$k" "$up_PORT" "test/rel$k"
  "$OUTPOST_BIN" bundle create --config "$T/create.yaml" --name shop --version "v$k" \
    --image "upstream.test/test/rel$k:rel$k" -o "$T/www/shop-v$k.tar" 2>>"$T/create.log" || die "bundle create"
done
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
  keep_releases: 10
YAML
API=http://127.0.0.1:$OP
git clone -q "http://127.0.0.1:$GIT_UP_PORT/org/app.git" "$T/seed" 2>/dev/null || true

for c in $(seq 1 "$CYCLES"); do
  start_outpost op "$T/serve.yaml"
  i=$((c % M)) k=$((c % K))
  commit_upstream org/app "round $c" >/dev/null
  jobs=()
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/img$i:img$i" \
    "dir:$T/pull-$c" >/dev/null 2>&1 & jobs+=($!)
  curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d "{\"source\":\"http://127.0.0.1:$pw_PORT/shop-v$k.tar\",\"name\":\"shop\",\"version\":\"v$k\"}" \
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
for i in $(seq 0 $((M - 1))); do
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/img$i:img$i" "dir:$T/final-$i" ||
    die "pull img$i after the crashes"
  diff -r "$T/direct-$i" "$T/final-$i" >/dev/null || die "img$i differs from upstream"
done
for k in $(seq 0 $((K - 1))); do
  "$OUTPOST_BIN" bundle ensure --server "$API" --source "http://127.0.0.1:$pw_PORT/shop-v$k.tar" \
    --name shop --version "v$k" --timeout 2m 2>"$T/ensure-$k.log" || die "release v$k: $(cat "$T/ensure-$k.log")"
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
