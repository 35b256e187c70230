#!/usr/bin/env bash
# Upstream stopped, or accepting connections and never answering: everything seen before is
# still served (ls-remote v0/v2, clone, fetch, fetch by SHA, shallow, partial), ref discovery
# never waits on upstream once its breaker is open, and a never-mirrored repo fails fast with a
# message the git client prints.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"

start_git_upstream
make_manifest_repo org/app
make_manifest_repo org/never
start_proxy px "$GIT_UP_PORT"
OP=$(free_port)
real_port=$GIT_UP_PORT
GIT_UP_PORT=$px_PORT  # Outpost reaches upstream through the fault proxy
# sync_interval 1s: every request below finds the mirror stale and would refresh if allowed
write_git_outpost_config "$T/outpost.yaml" "$OP" "$T/data" "sync_interval: 1s" "request_refresh_budget: 2s" "probe_timeout: 1s" "stall_timeout: 3s"
GIT_UP_PORT=$real_port
start_outpost op "$T/outpost.yaml"
VIA=http://127.0.0.1:$OP/git/git.test/org/app.git
DIRECT=http://127.0.0.1:$GIT_UP_PORT/org/app.git

git ls-remote "$VIA" >"$T/refs.online" || die "online ls-remote"
git clone -q "$VIA" "$T/warm"
sha=$(git -C "$T/work/org/app" rev-parse HEAD~2)

offline_suite() {  # $1 label
  local l=$1
  for v in 0 2; do
    git -c protocol.version=$v ls-remote "$VIA" >"$T/refs.$l.$v" || die "$l: ls-remote v$v"
    diff "$T/refs.online" "$T/refs.$l.$v" >/dev/null || die "$l: refs changed"
    git -c protocol.version=$v clone -q "$VIA" "$T/clone.$l.$v" || die "$l: clone v$v"
  done
  git -C "$T/warm" fetch -q origin --tags --force --prune || die "$l: fetch"
  "$GOGIT" ls-remote "$VIA" >/dev/null || die "$l: go-git ls-remote"
  "$GOGIT" clone "$VIA" "$T/gogit.$l" 1 >/dev/null || die "$l: go-git depth-1 clone"
  git init -q "$T/bysha.$l"
  git -C "$T/bysha.$l" fetch -q "$VIA" "$sha" || die "$l: fetch by SHA"
  git clone -q --depth 1 "$VIA" "$T/shallow.$l" || die "$l: shallow clone"
  git clone -q --filter=blob:none "$VIA" "$T/partial.$l" || die "$l: partial clone"
  if git ls-remote "http://127.0.0.1:$OP/git/git.test/org/never.git" >/dev/null 2>"$T/never.$l"; then
    die "$l: never-mirrored repo answered"
  fi
  grep -q 'remote: .*has not been mirrored yet' "$T/never.$l" || die "$l: unclear error: $(cat "$T/never.$l")"
  log "$l: never-mirrored repo: $(grep remote: "$T/never.$l")"
}

build_gogit
sleep 1.1
log "--- upstream accepts connections and never answers"
echo blackhole >"$px_CTL"
ms=$(elapsed_ms git ls-remote "$VIA")
log "first ref discovery with a black-holed upstream: $ms ms (bounded by request_refresh_budget 2s)"
# the background sync hangs on the black hole; the breaker opens when it gives up; meanwhile
# the requests below are answered from local refs
offline_suite blackhole

log "--- upstream stopped"
# Stopped before the proxy passes again: a sync let through in between would make the mirror
# fresh, and the staleness checked below would race with it.
stop_git_upstream
echo pass >"$px_CTL"
sleep 1.1
offline_suite stopped
[[ $(metric 'outpost_git_upstream_up{host="git.test"}' "$OP") == 0 ]] || die "git upstream not reported down"
curl -s "http://127.0.0.1:$OP/api/v1/git/repos" | python3 -c '
import json,sys
r=[r for r in json.load(sys.stdin)["repos"] if r["repo"]=="git.test/org/app"][0]
assert r["stale_seconds"] > 1, r' || die "status does not show the mirror as stale"

log "--- upstream back: a new commit appears after a sync interval"
restart_git_upstream
new=$(commit_upstream org/app "after the outage")
for _ in $(seq 300); do
  git ls-remote "$VIA" refs/heads/main | grep_q "$new" && break
  sleep 0.1
done
git ls-remote "$VIA" refs/heads/main | grep_q "$new" || die "new commit never showed up"
log "ok"
