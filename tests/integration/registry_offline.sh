#!/usr/bin/env bash
# With upstream stopped, and with an upstream that accepts connections but never answers,
# cached images still pull by tag and by digest (skopeo and containerd) with no request
# waiting on upstream, and never-pulled images fail quickly with a clear error.
source "$(dirname "$0")/lib.sh"

start_registry up
start_proxy px "$up_PORT"
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 1 >/dev/null
python3 "$TOOLS/make_image.py" "$T/layout" multi --layer-mb 1 --layers 1 --platforms linux/amd64,linux/arm64 >/dev/null
python3 "$TOOLS/make_image.py" "$T/layout" never >/dev/null
push_image "$T/layout" v1 "$up_PORT" test/app
push_image "$T/layout" multi "$up_PORT" test/app --all
push_image "$T/layout" never "$up_PORT" test/app

OP=$(free_port)
# tag_ttl 1s: every tag pull below is due for revalidation, so each one would go upstream
# if the breaker let it. Inline revalidation: the first due pull is the one that meets the black
# hole (registry_revalidate.sh covers background revalidation offline).
write_outpost_config "$T/outpost.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:$px_PORT" "tag_ttl: 1s" \
  "revalidate: inline"
start_outpost op "$T/outpost.yaml"
start_containerd
containerd_hosts upstream.test "$OP"

src() { echo "docker://127.0.0.1:$OP/upstream.test/test/app$1"; }
log "warm the cache online"
skopeo_ copy -q --src-tls-verify=false "$(src :v1)" "dir:$T/online-v1"
ctr_pull upstream.test/test/app:v1 || die "online containerd pull"
ctr_pull --platform linux/amd64 upstream.test/test/app:multi || die "online containerd pull multi (amd64 only)"
v1_digest=$(skopeo_ inspect --raw --tls-verify=false "$(src :v1)" | sha256sum | cut -d' ' -f1)
multi_digest=$(skopeo_ inspect --raw --tls-verify=false "$(src :multi)" | sha256sum | cut -d' ' -f1)
arm64_manifest=$(skopeo_ inspect --raw --tls-verify=false "$(src :multi)" |
  python3 -c 'import json,sys; print([m["digest"] for m in json.load(sys.stdin)["manifests"] if m["platform"]["architecture"]=="arm64"][0])')
sleep 1.2  # let tag_ttl lapse

offline_pulls() {  # $1: label
  log "$1: skopeo by tag and by digest"
  skopeo_ copy -q --src-tls-verify=false "$(src :v1)" "dir:$T/$1-tag" || die "$1: tag pull"
  diff -r "$T/online-v1" "$T/$1-tag" >/dev/null || die "$1: tag pull differs"
  skopeo_ copy -q --src-tls-verify=false "$(src "@sha256:$v1_digest")" "dir:$T/$1-digest" || die "$1: digest pull"
  log "$1: containerd by tag and digest, including the arm64 platform it never pulled"
  ctr_rmi upstream.test/test/app:v1 upstream.test/test/app:multi
  ctr_pull upstream.test/test/app:v1 || die "$1: containerd tag pull"
  ctr_pull "upstream.test/test/app@sha256:$v1_digest" || die "$1: containerd digest pull"
  ctr_pull --platform linux/amd64 upstream.test/test/app:multi || die "$1: containerd multi-arch by tag"
  # containerd only ever pulled amd64; the index prefetch cached every platform manifest
  skopeo_ inspect --raw --tls-verify=false "$(src "@$arm64_manifest")" >/dev/null || die "$1: arm64 manifest by digest"
  log "$1: never-pulled image fails fast with a clear error"
  local s e
  s=$(date +%s%N)
  if skopeo_ inspect --raw --tls-verify=false "$(src :never)" >/dev/null 2>"$T/$1-never.err"; then
    die "$1: never-pulled image served"
  fi
  e=$(date +%s%N)
  grep -qi 'manifest unknown' "$T/$1-never.err" || die "$1: unclear error: $(cat "$T/$1-never.err")"
  log "$1: never-pulled error came back in $(((e - s) / 1000000)) ms: $(tail -1 "$T/$1-never.err")"
}

log "--- upstream accepts connections but never answers"
echo blackhole >"$px_CTL"
errors_before=$(metric 'outpost_upstream_errors_total{upstream="upstream.test",reason="timeout"}' "$OP")
ms=$(elapsed_ms skopeo_ inspect --raw --tls-verify=false "$(src :v1)")
log "first tag revalidation against the black hole answered in $ms ms (bounded by upstream_timeout 2s)"
offline_pulls blackhole
errors_after=$(metric 'outpost_upstream_errors_total{upstream="upstream.test",reason="timeout"}' "$OP")
# Only the first request may have waited for the black hole; with the breaker open the rest
# never dialled it.
[[ $((errors_after - errors_before)) -le 1 ]] || die "requests kept waiting on the black hole ($errors_before -> $errors_after timeouts)"
[[ $(metric 'outpost_upstream_up{upstream="upstream.test"}' "$OP") == 0 ]] || die "upstream not reported down"
stale=$(metric 'outpost_registry_cache_total{kind="manifest",result="stale"}' "$OP")
[[ $stale -gt 0 ]] || die "no stale serves counted"

log "--- upstream stopped"
echo pass >"$px_CTL"
stop_pid "$up_PID"
offline_pulls stopped

log "--- upstream back: the prober closes the breaker"
docker-registry serve "$T/up/config.yml" >>"$T/up.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 200); do
  [[ $(metric 'outpost_upstream_up{upstream="upstream.test"}' "$OP") == 1 ]] && break
  sleep 0.1
done
[[ $(metric 'outpost_upstream_up{upstream="upstream.test"}' "$OP") == 1 ]] || die "breaker never closed"
skopeo_ inspect --raw --tls-verify=false "$(src :never)" >/dev/null || die "pull after recovery"
log "ok"
