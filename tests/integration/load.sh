#!/usr/bin/env bash
# Load: 500 concurrent connections mixing cached blob GETs, manifest HEADs and git ref
# discoveries, plus 20 parallel git clones, while 50 slowloris connections dribble headers. Every
# request succeeds with the right bytes; the slow connections are cut by the read timeout without
# starving the others; peak RSS is recorded (and bounded).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"

start_app_upstreams 2
OP=$(free_port)
write_git_outpost_config "$T/serve.yaml" "$OP" "$T/data"
printf 'server:\n  read_timeout: 3s\n' >>"$T/serve.yaml"
registry_yaml "http://127.0.0.1:$up_PORT" >>"$T/serve.yaml"
start_outpost op "$T/serve.yaml"
API=http://127.0.0.1:$OP
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/app:v1" "dir:$T/warm" || die "warm pull"
git clone -q "$API/git/git.test/org/app.git" "$T/warm-clone" || die "warm clone"

python3 - "$T/warm" "$T/plan.json" <<'PY'
import hashlib, json, os, sys
d, out = sys.argv[1:3]
m = json.load(open(os.path.join(d, "manifest.json")))
plan = []
for l in m["layers"] + [m["config"]]:
    h = l["digest"].split(":")[1]
    plan.append({"method": "GET", "path": f"/v2/upstream.test/test/app/blobs/{l['digest']}",
                 "status": 200, "sha256": h, "length": l["size"]})
plan.append({"method": "HEAD", "path": "/v2/upstream.test/test/app/manifests/v1", "status": 200,
             "headers": {"Accept": "application/vnd.oci.image.manifest.v1+json"}})
plan.append({"method": "GET", "path": "/git/git.test/org/app.git/info/refs?service=git-upload-pack",
             "status": 200})
json.dump(plan, open(out, "w"))
PY

log "500 connections + 50 slowloris + 20 clones at once"
clones=()
for i in $(seq 20); do git clone -q "$API/git/git.test/org/app.git" "$T/clone-$i" 2>"$T/clone-$i.err" & clones+=($!); done
python3 "$TOOLS/load_client.py" --port "$OP" --conns 500 --slowloris 50 --plan "$T/plan.json" >"$T/load.json" ||
  die "load: $(cat "$T/load.json")"
for p in "${clones[@]}"; do wait "$p" || die "a clone under load failed: $(cat "$T"/clone-*.err)"; done
for i in $(seq 20); do
  [[ $(git -C "$T/clone-$i" rev-parse HEAD) == $(git -C "$T/warm-clone" rev-parse HEAD) ]] || die "clone $i differs"
done
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$op_PID/status")
log "load: $(cat "$T/load.json"); peak RSS $((rss_kb / 1024)) MiB"
mkdir -p "${TEST_ARTIFACTS:-$T}"
printf '{"load": %s, "peak_rss_kib": %s}\n' "$(cat "$T/load.json")" "$rss_kb" >"${TEST_ARTIFACTS:-$T}/load.json"
((rss_kb < 400 * 1024)) || die "peak RSS ${rss_kb} KiB is over 400 MiB"
curl -sf "$API/healthz" >/dev/null || die "server down after the load"
log "ok"
