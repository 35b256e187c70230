#!/usr/bin/env bash
# GitOps sources as OCI artifacts (sources.oci), end to end against docker-registry: an Argo CD
# manifests artifact, a Helm OCI chart and a Flux artifact, each with the media types its client
# uses. A client resolving a semver range the way Argo CD does sees the same versions online and
# offline; a version whose image is missing stays hidden (and `stable` with it) until the image is
# there, then Argo CD's and Flux's receivers get their payloads; 20 pollers cost the origin no HEAD
# between checks; rollback to 1.4.0 works offline; a bundle made --from the source, taken by a
# fresh Outpost through `bundle ensure` (the PreSync hook), serves the source and its images
# offline.
source "$(dirname "$0")/lib.sh"

start_registry up
for v in 4 5 6; do
  python3 "$TOOLS/make_image.py" "$T/layout" "v$v" --layer-mb 1 --layers 1 --seed "$v" >/dev/null
done
push_image "$T/layout" v4 "$up_PORT" test/app
push_image "$T/layout" v5 "$up_PORT" test/app
push_art() { python3 "$TOOLS/push_artifact.py" "$up_PORT" "$@"; }
retag() {  # retag REPO FROM TO: upstream's FROM manifest also as TO
  curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$up_PORT/v2/$1/manifests/$2" >"$T/retag.json"
  curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary @"$T/retag.json" "http://127.0.0.1:$up_PORT/v2/$1/manifests/$3" >/dev/null
}
M=shop/manifests
d14=$(push_art $M 1.4.0 --kind argocd --image upstream.test/test/app:v4)
d15=$(push_art $M 1.5.0 --kind argocd --image upstream.test/test/app:v5)
retag $M 1.5.0 stable
log "2000 CI tags besides the versions, so tags/list pages"
python3 "$TOOLS/push_tags.py" "$up_PORT" $M 1.4.0 2000 --prefix ci >/dev/null
push_art shop/chart 1.0.0 --kind helm --image upstream.test/test/app:v4 >/dev/null
push_art shop/chart 1.1.0_build.7 --kind helm --image upstream.test/test/app:v5 >/dev/null
push_art shop/flux 0.9.0 --kind flux --image upstream.test/test/app:v4 >/dev/null

SINK=$(free_port)
python3 "$TOOLS/webhook_sink.py" "$SINK" "$T/hooks.jsonl" &
started sink $! "$SINK" "http://127.0.0.1:$SINK/"
export ARGO_SECRET=argo-s3cret FLUX_TOKEN=flux-t0ken
OP=$(free_port)
write_outpost_config "$T/outpost.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:$up_PORT"
cat >>"$T/outpost.yaml" <<YAML
sources:
  public_url: http://outpost.example:8080
  oci:
    - repository: upstream.test/$M
      follow: ["stable", ">=1.4.0 <2.0.0"]
      interval: 1h  # checked on demand here (POST /api/v1/sources/check)
      keep: 3
      notify:
        - {kind: argocd, url: "http://127.0.0.1:$SINK/api/webhook", secret_env: ARGO_SECRET}
        - {kind: flux, url: "http://127.0.0.1:$SINK/hook/0123abcd", secret_env: FLUX_TOKEN}
    - repository: upstream.test/shop/chart
      follow: [">=1.0.0"]
      interval: 1h
    - repository: upstream.test/shop/flux
      follow: ["0.x"]
      interval: 1h
YAML
start_outpost op "$T/outpost.yaml"
api() { curl -sf "http://127.0.0.1:$OP/api/v1/sources"; }
src() {  # src REPO JQ-LIKE-PYTHON-EXPR: a field of one source's status
  api | python3 -c "import json,sys; s=[o for o in json.load(sys.stdin)['oci'] if o['repository']=='upstream.test/$1'][0]; print($2)"
}
checks() { src "$1" "s['checks']"; }
wait_checks() {  # wait_checks REPO N: until the source has completed N checks
  for _ in $(seq 600); do (($(checks "$1") >= $2)) && return 0; sleep 0.1; done
  die "source $1 did not complete check $2"
}
check_now() {  # check_now REPO: one more check, done
  local n
  n=$(checks "$1")
  curl -sf -X POST "http://127.0.0.1:$OP/api/v1/sources/check?repository=upstream.test/$1" >/dev/null
  wait_checks "$1" $((n + 1))
}
for r in $M shop/chart shop/flux; do wait_checks "$r" 1; done
argo() { python3 "$TOOLS/semver_client.py" "http://127.0.0.1:$OP" "upstream.test/$M" ">=1.4.0 <2.0.0" --page 100 "$@"; }
digest_of() { curl -sfI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$OP/v2/upstream.test/$M/manifests/$1" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'; }
all_tags() { curl -sf "http://127.0.0.1:$OP/v2/upstream.test/$M/tags/list?n=100000" | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["tags"]))'; }

log "online: Argo CD's semver resolution walks 21 pages of tags/list and takes 1.5.0"
read -r tag digest _ < <(argo)
[[ $tag == 1.5.0 && $digest == "$d15" ]] || die "resolved $tag $digest, expected 1.5.0 $d15"
curl -sfD "$T/h" -o /dev/null "http://127.0.0.1:$OP/v2/upstream.test/$M/tags/list?n=5"
grep_q -i '^X-Outpost-Tags: snapshot' "$T/h" || die "tags/list is not marked as the snapshot: $(cat "$T/h")"
[[ $(all_tags | wc -l) == 2003 ]] || die "$(all_tags | wc -l) tags listed, expected 2003"
all_tags >"$T/tags-online"
[[ $(src shop/chart "s['advertised_version']") == 1.1.0_build.7 ]] || die "chart: $(src shop/chart "s")"
grep_q -x '1.1.0_build.7' <(curl -sf "http://127.0.0.1:$OP/v2/upstream.test/shop/chart/tags/list" | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["tags"]))') || die "the chart's _ tag is not listed verbatim"
[[ $(src shop/flux "s['advertised_version']") == 0.9.0 ]] || die "flux: $(src shop/flux "s")"

log "1.6.0 names an image the origin lacks: it stays hidden, stable stays on 1.5.0"
d16=$(push_art $M 1.6.0 --kind argocd --image upstream.test/test/app:v6)
retag $M 1.6.0 stable
check_now $M
all_tags | grep_q -x 1.6.0 && die "1.6.0 is listed before its image is local"
[[ $(digest_of stable) == "$d15" ]] || die "stable moved to $(digest_of stable) before 1.6.0's image was local"
read -r tag _ < <(argo)
[[ $tag == 1.5.0 ]] || die "the client resolved $tag while 1.6.0 is held"
why=$(src $M "[h['why'] for h in s['held'] if h['tag']=='1.6.0'][0]")
[[ $why == *test/app:v6* ]] || die "the status does not say why 1.6.0 is held: $why"
code=$(curl -s -o "$T/held.json" -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$OP/v2/upstream.test/$M/manifests/1.6.0")
[[ $code == 404 ]] && grep_q MANIFEST_UNKNOWN "$T/held.json" || die "1.6.0 by tag answered $code $(cat "$T/held.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$OP/v2/upstream.test/$M/manifests/$d16")
[[ $code == 200 ]] || die "1.6.0 by digest answered $code: a digest asked for is never hidden"
[[ ! -s $T/hooks.jsonl ]] || die "receivers were notified before anything new was advertised"
log "the status page and outpost status show what is held back and why"
BROWSER=$(cd "$(dirname "$0")/../tools/browser" && pwd)
ARTIFACTS=${TEST_ARTIFACTS:-$T/artifacts}
mkdir -p "$ARTIFACTS"
node "$BROWSER/page_check.mjs" "http://127.0.0.1:$OP/" "$ARTIFACTS/oci-sources.png" >"$T/page.json" 2>"$T/page.err" ||
  die "page_check: $(cat "$T/page.err")"
python3 - "$T/page.json" "upstream.test/$M" <<'PY' || die "the page: $(cat "$T/page.json")"
import json, sys
page = json.load(open(sys.argv[1]))
row = page["tests"]["oci:" + sys.argv[2]]
for w in ("held back", "held: 1.6.0", "test/app:v6", "stable →", "(1.5.0)", "newest upstream 1.6.0"):
    assert w in row, f"{w!r} not in {row!r}"
assert not page["console_errors"], page["console_errors"]
PY
"$OUTPOST_BIN" status --server "http://127.0.0.1:$OP" >"$T/status.txt" || true  # 1: not offline-ready
grep_q "held: 1.6.0: .*test/app:v6" "$T/status.txt" || die "outpost status: $(cat "$T/status.txt")"
grep_q "advertised 1.5.0, newest upstream 1.6.0" "$T/status.txt" || die "outpost status: $(cat "$T/status.txt")"

log "the image arrives: 1.6.0 is listed, stable moves, Argo CD and Flux are told"
push_image "$T/layout" v6 "$up_PORT" test/app
check_now $M
all_tags | grep_q -x 1.6.0 || die "1.6.0 is not listed once its image is local"
[[ $(digest_of stable) == "$d16" ]] || die "stable did not move to 1.6.0"
read -r tag _ < <(argo)
[[ $tag == 1.6.0 ]] || die "the client resolved $tag, expected 1.6.0"
for _ in $(seq 300); do [[ $(wc -l <"$T/hooks.jsonl") -ge 4 ]] && break; sleep 0.1; done
python3 - "$T/hooks.jsonl" "$ARGO_SECRET" "$FLUX_TOKEN" "upstream.test/$M" "$d16" <<'PY' || die "notifications: $(cat "$T/hooks.jsonl")"
import hashlib, hmac, json, sys
hooks, secret, token, repo, digest = sys.argv[1:]
got = [json.loads(l) for l in open(hooks)]
argo = [h for h in got if h["path"] == "/api/webhook"]
flux = [h for h in got if h["path"] == "/hook/0123abcd"]
assert len(argo) == 2 and len(flux) == 2, f"{len(argo)} to Argo CD, {len(flux)} to Flux"
for h in argo:  # the fields Argo CD's Harbor registry handler reads (util/webhook)
    b = json.loads(h["body"])
    assert h["headers"]["Authorization"] == secret
    assert b["type"] == "PUSH_ARTIFACT"
    assert b["event_data"]["repository"]["repo_full_name"] == repo
    r = b["event_data"]["resources"][0]
    assert r["resource_url"] == f"outpost.example:8080/{repo}:{r['tag']}", r
    assert r["digest"] == digest
assert sorted(json.loads(h["body"])["event_data"]["resources"][0]["tag"] for h in argo) == ["1.6.0", "stable"]
for h in flux:  # a generic-hmac Receiver: X-Signature over the body with the token
    want = "sha256=" + hmac.new(token.encode(), h["body"].encode(), hashlib.sha256).hexdigest()
    assert h["headers"]["X-Signature"] == want, "bad signature"
    b = json.loads(h["body"])
    assert b["url"] == f"oci://outpost.example:8080/{repo}" and b["digest"] == digest
PY
[[ $(src $M "s['notifications'][0]['sent']") == 2 ]] || die "status: $(src $M "s['notifications']")"
sent=$(metric "outpost_oci_source_notifications_total{source=\"upstream.test/$M\",kind=\"flux\",result=\"sent\"}" "$OP")
[[ $sent == 2 ]] || die "metrics count $sent Flux notifications sent"

log "20 repo-servers polling stable and the tag list cost the origin no request; a check costs one HEAD"
heads() { grep -c "\"HEAD /v2/$M/manifests/stable " "$T/up.log" || true; }
lists() { grep -c "\"GET /v2/$M/tags/list" "$T/up.log" || true; }
h0=$(heads)
l0=$(lists)
poll() {
  for _ in $(seq 10); do
    curl -sfI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$OP/v2/upstream.test/$M/manifests/stable" >/dev/null || exit 1
    curl -sf "http://127.0.0.1:$OP/v2/upstream.test/$M/tags/list?n=50" >/dev/null || exit 1
  done
}
pids=()
for _ in $(seq 20); do poll & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || die "a poller failed"; done
[[ $(heads) == "$h0" && $(lists) == "$l0" ]] || die "200 polls cost the origin $(($(heads) - h0)) HEADs and $(($(lists) - l0)) listings"
check_now $M
[[ $(heads) == $((h0 + 1)) ]] || die "a check cost $(($(heads) - h0)) HEADs of stable"
log "200 polls: 0 origin requests; one check: 1 HEAD of stable, $(($(lists) - l0)) tags/list pages"

log "a bundle --from the OCI source (made online)"
"$OUTPOST_BIN" bundle create --config "$T/outpost.yaml" --from "oci://upstream.test/$M:1.5.0" \
  -o "$T/src.tar" --cache "$T/bundle-cache" 2>"$T/create.log" || die "create: $(cat "$T/create.log")"
grep_q 'names upstream.test/test/app:v5' "$T/create.log" || die "create did not read the artifact: $(cat "$T/create.log")"

log "offline: the origin stops, Outpost restarts; the client sees the same versions"
stop_pid "$up_PID"
stop_pid "$op_PID"
start_outpost op "$T/outpost.yaml"
# The restart's first check finds the origin down (the saved state said it was up).
for _ in $(seq 600); do [[ $(src $M "s['upstream_reachable']") == False ]] && break; sleep 0.1; done
all_tags >"$T/tags-offline"
diff -q "$T/tags-online" "$T/tags-offline" >/dev/null && die "the offline list lacks 1.6.0, which was advertised since"
grep -vx 1.6.0 "$T/tags-offline" | diff -q "$T/tags-online" - >/dev/null || die "offline tags differ from online ones beyond 1.6.0"
argo >/dev/null 2>&1 && die "offline, tags/list carries no Warning"
read -r tag digest _ < <(argo --allow-warning)
[[ $tag == 1.6.0 && $digest == "$d16" ]] || die "offline the client resolved $tag $digest"
[[ $(src $M "s['upstream_reachable']") == False ]] || die "status says upstream reachable"
[[ -n $(src $M "s['last_error']") ]] || die "the status gives no error for the unreachable registry"

log "rollback to 1.4.0 offline: the artifact and its image"
read -r tag digest _ < <(python3 "$TOOLS/semver_client.py" "http://127.0.0.1:$OP" "upstream.test/$M" "=1.4.0" --allow-warning)
[[ $tag == 1.4.0 && $digest == "$d14" ]] || die "1.4.0 offline: $tag $digest"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/app:v4" "dir:$T/v4" || die "1.4.0's image is not served offline"
stop_pid "$op_PID"

log "a fresh Outpost takes the bundle as a PreSync hook does (bundle ensure), then serves the source and its images offline"
OP2=$(free_port)
write_outpost_config "$T/fresh.yaml" "$OP2" "$T/fresh" upstream.test "http://127.0.0.1:$up_PORT"
printf 'bundle:\n  allowed_sources: ["%s/"]\n' "$T" >>"$T/fresh.yaml"
start_outpost fresh "$T/fresh.yaml"
"$OUTPOST_BIN" bundle ensure --server "http://127.0.0.1:$OP2" --source "$T/src.tar" \
  --name manifests --version 1.5.0 --timeout 2m 2>"$T/ensure.log" || die "ensure: $(cat "$T/ensure.log")"
read -r tag digest _ < <(python3 "$TOOLS/semver_client.py" "http://127.0.0.1:$OP2" "upstream.test/$M" ">=1.0.0" --allow-warning)
[[ $tag == 1.5.0 && $digest == "$d15" ]] || die "the imported source resolved $tag $digest"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP2/upstream.test/test/app:v5" "dir:$T/v5" || die "the bundle's image is not served offline"
log "ok"
