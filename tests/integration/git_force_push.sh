#!/usr/bin/env bash
# Upstream force-pushes away commit X and deletes a branch. After Outpost syncs (triggered by a
# webhook), its advertised refs match upstream's new state, yet X stays fetchable by SHA.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"

start_git_upstream
make_manifest_repo org/app
OP=$(free_port)
write_git_outpost_config "$T/outpost.yaml" "$OP" "$T/data" "sync_interval: 1h"
start_outpost op "$T/outpost.yaml"
VIA=http://127.0.0.1:$OP/git/git.test/org/app.git
DIRECT=http://127.0.0.1:$GIT_UP_PORT/org/app.git
API=http://127.0.0.1:$OP/api/v1/git/webhook

git clone -q "$VIA" "$T/client"
x=$(git -C "$T/work/org/app" rev-parse main)
fx=$(git -C "$T/work/org/app" rev-parse feature)
log "X = $x (main), feature = $fx"

log "webhook: a new commit shows up at once (sync_interval is 1h)"
new=$(commit_upstream org/app "webhook test")
code=$(curl -s -o "$T/hook.out" -w '%{http_code}' -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
  -d "{\"repository\":{\"clone_url\":\"http://127.0.0.1:$GIT_UP_PORT/org/app.git\"}}" "$API")
[[ $code == 202 ]] || die "webhook gave $code: $(cat "$T/hook.out")"
for _ in $(seq 100); do git ls-remote "$VIA" refs/heads/main | grep -q "$new" && break; sleep 0.05; done
git ls-remote "$VIA" refs/heads/main | grep -q "$new" || die "webhook did not sync"

log "force-push dropping X and $new, delete branch feature"
git -C "$T/work/org/app" reset -q --hard HEAD~3
git -C "$T/work/org/app" commit -q --allow-empty -m "rewritten history"
git -C "$T/work/org/app" push -q --force origin main
git -C "$T/work/org/app" push -q origin :feature
git -C "$GIT_SRV/org/app.git" reflog expire --expire=now --all
git -C "$GIT_SRV/org/app.git" gc -q --prune=now
git -C "$GIT_SRV/org/app.git" cat-file -e "$x^{commit}" 2>/dev/null && die "upstream still has X"
curl -sf -o /dev/null -d '{"repo":"git.test/org/app"}' "$API" || die "generic webhook"
want=$(git ls-remote "$DIRECT" | sort)
for _ in $(seq 100); do [[ $(git ls-remote "$VIA" | sort) == "$want" ]] && break; sleep 0.05; done
diff <(git ls-remote "$VIA" | sort) <(echo "$want") || die "advertised refs do not match upstream"
git ls-remote "$VIA" | grep -q refs/outpost && die "hidden refs are advertised"

for v in 0 2; do
  log "fetch X by SHA through Outpost after it vanished upstream (protocol v$v)"
  rm -rf "$T/x$v"
  git init -q "$T/x$v"
  git -C "$T/x$v" -c protocol.version=$v fetch -q "$VIA" "$x" || die "X lost (v$v)"
  git -C "$T/x$v" -c protocol.version=$v fetch -q "$VIA" "$fx" || die "deleted branch tip lost (v$v)"
  git -C "$T/x$v" cat-file -e "$x^{commit}" || die "X not received"
done
log "the existing clone fetches the rewritten history with --prune"
git -C "$T/client" fetch -q origin --tags --force --prune || die "fetch after force-push"
git -C "$T/client" rev-parse -q --verify origin/feature >/dev/null && die "deleted branch not pruned"

log "webhook for an unknown repository: 404, nothing created"
code=$(curl -s -o /dev/null -w '%{http_code}' -d '{"repo":"git.test/org/other"}' "$API")
[[ $code == 404 ]] || die "unknown repo webhook gave $code"
[[ ! -e $T/data/git/git.test/org/other.git ]] || die "webhook created a mirror"
log "ok"
