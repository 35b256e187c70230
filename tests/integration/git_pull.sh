#!/usr/bin/env bash
# The git CLI through Outpost (protocol v0 and v2): ls-remote, clone, fetch --tags --force
# --prune, fetch by SHA, --depth 1, --filter=blob:none — identical to the same against the
# upstream git http-backend directly.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"

start_git_upstream
make_manifest_repo org/app
OP=$(free_port)
write_git_outpost_config "$T/outpost.yaml" "$OP" "$T/data"
start_outpost op "$T/outpost.yaml"
DIRECT=http://127.0.0.1:$GIT_UP_PORT/org/app.git
VIA=http://127.0.0.1:$OP/git/git.test/org/app.git

for v in 0 2; do
  log "ls-remote protocol.version=$v"
  git -c protocol.version=$v ls-remote "$DIRECT" >"$T/direct.refs.$v"
  git -c protocol.version=$v ls-remote "$VIA" >"$T/via.refs.$v" || die "ls-remote v$v through Outpost"
  diff "$T/direct.refs.$v" "$T/via.refs.$v" || die "ls-remote v$v differs"
  git -c protocol.version=$v ls-remote --symref "$VIA" HEAD | grep_q 'ref: refs/heads/main' || die "HEAD symref v$v"
done
git ls-remote "http://127.0.0.1:$OP/git/git.test/org/app" >/dev/null || die "URL without .git"

for v in 0 2; do
  log "clone v$v"
  git -c protocol.version=$v clone -q "$VIA" "$T/clone$v" || die "clone v$v"
  git -c protocol.version=$v clone -q "$DIRECT" "$T/direct$v"
  [[ $(git -C "$T/clone$v" rev-parse HEAD) == $(git -C "$T/direct$v" rev-parse HEAD) ]] || die "clone v$v HEAD differs"
  diff <(git -C "$T/clone$v" for-each-ref) <(git -C "$T/direct$v" for-each-ref) >/dev/null || die "refs differ"
  log "fetch --tags --force --prune (Argo CD's fetch) v$v"
  git -C "$T/clone$v" -c protocol.version=$v fetch -q origin --tags --force --prune || die "fetch v$v"
done

sha=$(git -C "$T/work/org/app" rev-parse HEAD~2)
log "fetch by SHA $sha (Argo CD's revision fetch)"
git init -q "$T/bysha"
git -C "$T/bysha" fetch -q "$VIA" "$sha" || die "fetch by SHA (v2)"
git -C "$T/bysha" -c protocol.version=0 fetch -q "$VIA" "$sha" || die "fetch by SHA (v0)"
git -C "$T/bysha" cat-file -e "$sha^{commit}" || die "commit missing after fetch by SHA"
git -C "$T/bysha" fetch -q --depth 1 "$VIA" "$sha" || die "fetch by SHA --depth 1"

log "shallow and partial clones"
git clone -q --depth 1 "$VIA" "$T/shallow" || die "depth 1 clone"
[[ $(git -C "$T/shallow" rev-list --count HEAD) == 1 ]] || die "depth 1 clone is not shallow"
git clone -q --filter=blob:none "$VIA" "$T/partial" || die "filter clone"
git -C "$T/partial" rev-parse HEAD >/dev/null
[[ $(git -C "$T/partial" config remote.origin.promisor) == true ]] || die "filter was not honoured"
git clone -q --depth 1 --filter=blob:none --single-branch -b feature "$VIA" "$T/feat" || die "branch clone"

log "go-git (Argo CD's ls-remote, Flux's depth-1 clone)"
build_gogit
"$GOGIT" ls-remote "$DIRECT" >"$T/gogit.direct"
"$GOGIT" ls-remote "$VIA" >"$T/gogit.via" || die "go-git ls-remote through Outpost"
diff "$T/gogit.direct" "$T/gogit.via" || die "go-git ls-remote differs"
grep -q ' HEAD$' "$T/gogit.via" || die "go-git sees no HEAD"
[[ $("$GOGIT" clone "$VIA" "$T/gogit-clone" 1) == $(git -C "$T/work/org/app" rev-parse HEAD) ]] || die "go-git depth-1 clone"
[[ $("$GOGIT" clone "$VIA" "$T/gogit-full") == $(git -C "$T/work/org/app" rev-parse HEAD) ]] || die "go-git clone"

log "push is refused with a message the client prints"
if git -C "$T/clone2" push "$VIA" HEAD:refs/heads/evil 2>"$T/push.err"; then die "push accepted"; fi
grep -q 'read-only mirror' "$T/push.err" || die "push error not shown: $(cat "$T/push.err")"

log "status API and staleness header"
curl -sf "http://127.0.0.1:$OP/api/v1/git/repos" | python3 -c '
import json,sys; r=json.load(sys.stdin)["repos"][0]
assert r["repo"]=="git.test/org/app" and r["ref_count"]>=4 and r["last_sync"], r' || die "status API"
curl -s -D - -o /dev/null "$VIA/info/refs?service=git-upload-pack" | grep_q -i 'x-outpost-stale-seconds' || die "no staleness header"
log "ok"
