#!/usr/bin/env bash
# A flaky WAN link, for real: the site (Outpost and its clients) lives in a network namespace; the
# upstreams (docker-registry, git http-backend, a bundle web server) are on the far side of a veth
# pair shaped by `tc tbf` (20 Mbit/s) whose link goes down for 4 s every 7 s. A cold
# image pull, a bundle import and a git clone complete anyway, resuming instead of restarting
# (counted: upstream bytes stay near 1.0x of the content). Then, with the link down for good,
# clients of the cached content do not notice.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"
make_veth
DEV=veth-o$$
start_registry up "$HOST_IP"
python3 "$TOOLS/make_image.py" "$T/layout" big --layer-mb 8 --layers 2 --seed flaky >/dev/null
skopeo_ copy -q --dest-tls-verify=false "oci:$T/layout:big" "docker://$HOST_IP:$up_PORT/test/big:big" >/dev/null
skopeo_ copy -q --src-tls-verify=false "docker://$HOST_IP:$up_PORT/test/big:big" "dir:$T/direct"
python3 "$TOOLS/make_image.py" "$T/layout" rel --layer-mb 8 --layers 1 --seed flaky-rel >/dev/null
skopeo_ copy -q --dest-tls-verify=false "oci:$T/layout:rel" "docker://$HOST_IP:$up_PORT/test/rel:rel" >/dev/null
mkdir -p "$T/www"
write_outpost_config "$T/create.yaml" "$(free_port)" "$T/create-data" upstream.test "http://$HOST_IP:$up_PORT"
"$OUTPOST_BIN" bundle create --config "$T/create.yaml" --name shop --version v1 \
  --image upstream.test/test/rel:rel -o "$T/www/shop-v1.tar" 2>"$T/create.log" || die "bundle create"
WP=$(free_port)
NGINX_HOST=$HOST_IP start_nginx web "$WP" 1 "  access_log $T/web-access.log;
  server { listen $HOST_IP:$WP; root $T/www; }"
GIT_UP_HOST=$HOST_IP start_git_upstream
make_manifest_repo org/app

OP=$(free_port)
write_git_outpost_config "$T/serve.yaml" "$OP" "$T/data" "sync_interval: 2s" "stall_timeout: 2s" \
  "probe_timeout: 2s" "request_refresh_budget: 1s"
sed -i "s|url: http://127.0.0.1:$GIT_UP_PORT|url: http://$HOST_IP:$GIT_UP_PORT|" "$T/serve.yaml"
cat >>"$T/serve.yaml" <<YAML
registry:
  default_upstream: upstream.test
  stall_timeout: 2s
  upstream_timeout: 3s
  breaker_min_backoff: 500ms
  breaker_max_backoff: 2s
  upstreams:
    - name: upstream.test
      url: http://$HOST_IP:$up_PORT
      insecure: true
bundle:
  stall_timeout: 2s
  download_attempts: 60
YAML
# Not through the in_ns function: a backgrounded function is a subshell, and $! would be that
# subshell, not the daemon (ip netns exec execs into Outpost, so here $! is Outpost itself).
ip netns exec "$NS" "$OUTPOST_BIN" serve --config "$T/serve.yaml" >>"$T/op.log" 2>&1 &
op_PID=$!
PIDS+=("$op_PID")
for _ in $(seq 100); do in_ns curl -sf -o /dev/null "http://127.0.0.1:$OP/healthz" && break; sleep 0.1; done
API=http://127.0.0.1:$OP

tc qdisc add dev "$DEV" root tbf rate 20mbit burst 64kb latency 400ms
flap() {  # up 3 s, down 4 s (longer than the stall timeouts: transfers break), until TERM
  local nap
  trap 'kill "$nap" 2>/dev/null; exit 0' TERM
  while true; do
    sleep 3 & nap=$!; wait "$nap"; ip link set "$DEV" down
    sleep 4 & nap=$!; wait "$nap"; ip link set "$DEV" up
  done
}
flap &
FLAP=$!
PIDS+=("$FLAP")

log "over the flapping 20 Mbit/s link: a cold 16 MB pull, an 8 MB bundle import, a git clone"
in_ns skopeo --policy "$T/policy.json" copy -q --src-tls-verify=false --retry-times 3 \
  "docker://127.0.0.1:$OP/upstream.test/test/big:big" "dir:$T/pulled" 2>"$T/pull.err" &
pull=$!
PIDS+=("$pull")
in_ns "$OUTPOST_BIN" bundle ensure --server "$API" --source "http://$HOST_IP:$WP/shop-v1.tar" \
  --name shop --version v1 --timeout 5m 2>"$T/ensure.log" &
ensure=$!
PIDS+=("$ensure")
ok_clone=0
for attempt in $(seq 30); do  # the first clone needs the link: git retries as a client would
  if in_ns git clone -q "$API/git/git.test/org/app.git" "$T/clone" 2>"$T/clone.err"; then ok_clone=1; break; fi
  rm -rf "$T/clone"
  sleep 1
done
((ok_clone)) || die "clone never completed: $(cat "$T/clone.err")"
wait "$pull" || die "pull over the flaky link: $(cat "$T/pull.err")"
wait "$ensure" || die "bundle import over the flaky link: $(cat "$T/ensure.log")"
diff -r "$T/direct" "$T/pulled" >/dev/null || die "pulled image differs"
kill "$FLAP" 2>/dev/null || true
wait "$FLAP" 2>/dev/null || true
ip link set "$DEV" up

metrics=$(in_ns curl -s "$API/metrics")
resumes=$(awk '$1 ~ /^outpost_registry_fetch_resumes_total/ {s+=$2} END {print s+0}' <<<"$metrics")
up_bytes=$(awk '$1 ~ /^outpost_upstream_bytes_total/ {s+=$2} END {print s+0}' <<<"$metrics")
image_bytes=$(du -cb "$T/direct"/* | tail -1 | cut -f1)
ratio=$(python3 -c "print(round($up_bytes / $image_bytes, 2))")
log "registry: $resumes resumed downloads; upstream bytes ${ratio}x the image"
((resumes >= 1)) || die "the link never broke a download (no resume): the test proved nothing"
python3 -c "import sys; sys.exit(0 if $up_bytes <= 1.5 * $image_bytes else 1)" || die "downloads restarted: ${ratio}x"
web_bytes=$(awk '{s+=$10} END {print s+0}' "$T/web-access.log")
bundle_size=$(stat -c %s "$T/www/shop-v1.tar")
log "bundle: $(wc -l <"$T/web-access.log") requests, $(python3 -c "print(round($web_bytes / $bundle_size, 2))")x the bundle size served"
((web_bytes <= bundle_size * 3 / 2)) || die "bundle download restarted instead of resuming"

log "link down for good: clients of cached content do not notice"
ip link set "$DEV" down
in_ns skopeo --policy "$T/policy.json" copy -q --src-tls-verify=false \
  "docker://127.0.0.1:$OP/upstream.test/test/big:big" "dir:$T/offline" || die "cached pull with the link down"
diff -r "$T/direct" "$T/offline" >/dev/null || die "offline image differs"
in_ns git clone -q "$API/git/git.test/org/app.git" "$T/clone-offline" || die "cached clone with the link down"
in_ns "$OUTPOST_BIN" bundle ensure --server "$API" --check --name shop --version v1 >/dev/null || die "release not ready"
ip link set "$DEV" up
log "ok"
