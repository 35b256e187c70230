#!/usr/bin/env bash
# Clients that hang up mid-body are everyday traffic (a deleted pod's pull, a kubelet timeout, a
# laptop on a flaky link), never the end of the daemon. A client reads 64 KiB and closes (or
# resets) on every path that writes to a socket: a cached 40 MB blob (sendfile), the same blob
# cold (streamed while it is fetched), a Git clone (upload-pack's pipe, then the pack cache's
# stream) and a Helm chart. After each, the daemon is alive and
# serves the next request, the cold fetch still completes and verifies, and the log says "client
# went away" at debug level (no warning or error for it).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"

start_registry up
push_test_image test/big big 40 1
blob=$LAYER
[[ $blob == sha256:* ]] || die "no layer digest"
start_git_upstream
make_manifest_repo org/app
w=$T/work/org/app
head -c 24000000 /dev/urandom >"$w/big.bin"  # incompressible: a pack of about 24 MB
git -C "$w" add -A && git -C "$w" commit -qm big && git -C "$w" push -q origin HEAD
WP=$(free_port)
start_chart_repo "$WP" "http://127.0.0.1:$WP"

OP=$(free_port)
write_git_outpost_config "$T/op.yaml" "$OP" "$T/data"
registry_yaml "http://127.0.0.1:$up_PORT" >>"$T/op.yaml"
helm_yaml "http://127.0.0.1:$WP" >>"$T/op.yaml"
printf 'log: {level: debug}\n' >>"$T/op.yaml"
start_outpost op "$T/op.yaml"
A=http://127.0.0.1:$OP

alive() {  # alive WHAT: the daemon still runs and answers
  kill -0 "$op_PID" 2>/dev/null || die "$1: outpost serve died (exit status $(wait "$op_PID"; echo $?))"
  curl -fsS -o /dev/null "$A/healthz" || die "$1: outpost serve does not answer"
}
hangup() {  # hangup WHAT URL [hangup.py args…]: 3 clients that close, then 2 that reset
  local what=$1 url=$2 i got reset
  shift 2
  for i in 1 2 3 4 5; do
    reset=()
    ((i <= 3)) || reset=(--reset)
    got=$(python3 "$TOOLS/hangup.py" "$url" "$@" "${reset[@]}") || die "$what: the client failed"
    alive "$what, client $i"
  done
  log "$what: 5 clients hung up after $got bytes; the daemon serves on"
}

log "a cold blob, streamed while it is fetched"
hangup "cold blob" "$A/v2/test/big/blobs/$blob?ns=upstream.test"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/big:big" "dir:$T/pulled" ||
  die "the pull after the hang-ups failed"
[[ $(sha256sum <"$T/pulled/${blob#sha256:}" | cut -d' ' -f1) == "${blob#sha256:}" ]] || die "the blob does not verify"
[[ -f $T/data/blobs/sha256/${blob:7:2}/${blob#sha256:} ]] || die "the blob is not in the store"
log "a cached blob, sent by sendfile"
hangup "cached blob" "$A/v2/test/big/blobs/$blob?ns=upstream.test"
hangup "cached blob, a range" "$A/v2/test/big/blobs/$blob?ns=upstream.test" --header "Range: bytes=1000-"

log "a Git clone: upload-pack's pipe, then the pack cache's stream"
G=$A/git/git.test/org/app.git
sha=$(git ls-remote "$G" HEAD | cut -f1)
[[ -n $sha ]] || die "ls-remote through outpost"
line="want $sha side-band-64k
"
printf '%04x%s' $((4 + ${#line})) "$line" >"$T/want"
printf '00000009done\n' >>"$T/want"
hangup "git upload-pack" "$G/git-upload-pack" --method POST --body-file "$T/want" \
  --header "Content-Type: application/x-git-upload-pack-request"
git clone -q "$G" "$T/clone" || die "clone after the hang-ups"
cmp -s "$w/big.bin" "$T/clone/big.bin" || die "the clone differs"

log "a Helm chart"
chart=$(python3 -c 'import json,sys; print(next(iter(json.load(open(sys.argv[1])))))' "$T/www/stable/expected.json")
hangup "helm chart" "$A/helm/charts.test/stable/charts/$chart" --read 100

grep -q 'client went away after' "$T/op.log" || die "no 'client went away' line in the log"
grep -E '\[(warning|error)\].*(went away|Broken pipe|EPIPE|Connection reset)' "$T/op.log" &&
  die "a hang-up was logged above debug level"
log "ok: $(grep -c 'client went away after' "$T/op.log") hang-ups logged at debug level"
