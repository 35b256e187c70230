#!/usr/bin/env bash
# Hostile git requests: non-allowlisted hosts, traversal and option-like path parts, malformed
# pkt-lines, a gzip bomb, receive-pack, dumb HTTP — all 4xx with a clear message, no process
# spawned with client-controlled options, nothing created on disk, server keeps serving.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"

start_git_upstream
make_manifest_repo org/app
OP=$(free_port)
write_git_outpost_config "$T/outpost.yaml" "$OP" "$T/data" "max_request_bytes: 1048576"
start_outpost op "$T/outpost.yaml"
B=http://127.0.0.1:$OP
git ls-remote "$B/git/git.test/org/app.git" >/dev/null || die "warm-up"
snapshot() { (cd "$T/data" && find . | sort); }
before=$(snapshot)
requests_before=$(wc -l <"$T/git-upstream.log")

expect() {  # expect METHOD PATH STATUS NEEDLE [curl args]
  local method=$1 path=$2 status=$3 needle=$4
  shift 4
  local got
  got=$(curl -s --path-as-is -X "$method" -o "$T/body" -w '%{http_code}' "$@" "$B$path")
  [[ $got == "$status" ]] || die "$method $path: $got, want $status ($(cat "$T/body"))"
  grep -qi -- "$needle" "$T/body" || die "$method $path: message lacks '$needle': $(cat "$T/body")"
}
R='info/refs?service=git-upload-pack'
expect GET "/git/evil.example.com/org/app.git/$R" 404 'not mirrored by this Outpost'
expect GET "/git/169.254.169.254/latest/$R" 404 'not mirrored'
expect GET "/git/git.test/../../etc/$R" 400 'invalid repository path'
expect GET "/git/git.test/org/..%2f..%2fx/$R" 400 'invalid repository path'
expect GET "/git/git.test/-x/app/$R" 400 'invalid repository path'
expect GET "/git/git.test/org/--upload-pack=touch%20$T%2fpwned/$R" 400 'invalid repository path'
expect GET "/git/git.test/org/.git/$R" 400 'invalid repository path'
expect GET "/git/git.test/org/app.git/info/refs" 403 'smart HTTP'
expect GET "/git/git.test/org/app.git/info/refs?service=git-receive-pack" 403 'read-only mirror'
expect POST "/git/git.test/org/app.git/git-receive-pack" 403 'read-only mirror' --data-binary 0000
expect GET "/git/git.test/org/app.git/HEAD" 404 'smart-HTTP'
expect POST "/git/git.test/org/app.git/git-upload-pack" 400 'malformed' --data-binary 'zzzzgarbage'
expect POST "/git/git.test/org/app.git/git-upload-pack" 400 'truncated' --data-binary '00ffwant'
expect POST "/git/git.test/org/app.git/git-upload-pack" 400 'empty' --data-binary ''
head -c 50000000 /dev/zero | gzip -c >"$T/bomb.gz"
expect POST "/git/git.test/org/app.git/git-upload-pack" 413 'inflates beyond' -H 'Content-Encoding: gzip' --data-binary "@$T/bomb.gz"
printf 'not gzip' >"$T/notgz"
expect POST "/git/git.test/org/app.git/git-upload-pack" 400 'gzip' -H 'Content-Encoding: gzip' --data-binary "@$T/notgz"
head -c 2000000 /dev/zero >"$T/big"
expect POST "/git/git.test/org/app.git/git-upload-pack" 413 'too large' --data-binary "@$T/big"
expect POST "/git/git.test/org/never.git/git-upload-pack" 404 'not mirrored yet' --data-binary 0000
expect POST "/api/v1/git/webhook" 400 'not JSON' -d 'nope'

[[ ! -e $T/pwned ]] || die "an option reached a process"
after=$(snapshot)
[[ $before == "$after" ]] || die "bad requests changed the data dir: $(diff <(echo "$before") <(echo "$after"))"
[[ $(wc -l <"$T/git-upstream.log") == "$requests_before" ]] || die "bad requests reached upstream"
git ls-remote "$B/git/git.test/org/app.git" >/dev/null || die "server stopped serving"
log "ok"
