#!/usr/bin/env bash
# A repository with 80,000 tags (long CI-style names: a v0 ref advertisement of about 9.5 MB,
# past the 8 MiB that git's output used to be cut at) through the Git cache: ls-remote and clone
# with protocol v0 (what go-git, and so Argo CD, speaks) and v2 see every ref the upstream
# advertises, and a sync does not take the refs past the cut for deleted.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"

start_git_upstream
make_manifest_repo org/app
bare=$GIT_SRV/org/app.git
head=$(git -C "$bare" rev-parse main)
log "80,000 tags upstream"
seq -f "create refs/tags/release-2026-12-06-build-%07g-for-the-site-cluster-rollout $head" 1 80000 |
  git -C "$bare" update-ref --stdin
git -C "$bare" pack-refs --all
DIRECT=http://127.0.0.1:$GIT_UP_PORT/org/app.git
git -c protocol.version=0 ls-remote "$DIRECT" >"$T/direct.refs"
bytes=$(curl -fsS "$DIRECT/info/refs?service=git-upload-pack" | wc -c)
((bytes > 8 * 1024 * 1024)) || die "the upstream's v0 advertisement is only $bytes bytes"
log "the upstream's v0 advertisement: $bytes bytes, $(wc -l <"$T/direct.refs") refs"

OP=$(free_port)
write_git_outpost_config "$T/outpost.yaml" "$OP" "$T/data" "sync_interval: 1h"
start_outpost op "$T/outpost.yaml"
VIA=http://127.0.0.1:$OP/git/git.test/org/app.git
for v in 0 2; do
  git -c protocol.version=$v ls-remote "$VIA" >"$T/via.refs.$v" || die "ls-remote v$v through Outpost"
  diff -q "$T/direct.refs" "$T/via.refs.$v" >/dev/null ||
    die "ls-remote v$v through Outpost differs: $(wc -l <"$T/via.refs.$v") refs of $(wc -l <"$T/direct.refs")"
  log "ls-remote v$v: every one of $(wc -l <"$T/via.refs.$v") refs"
done
via_bytes=$(curl -fsS "$VIA/info/refs?service=git-upload-pack" | wc -c)
((via_bytes >= bytes)) || die "Outpost's v0 advertisement is $via_bytes bytes, the upstream's $bytes"
git -c protocol.version=0 clone -q --no-checkout "$VIA" "$T/clone0" || die "clone v0 through Outpost"
[[ $(git -C "$T/clone0" tag | wc -l) == 80002 ]] || die "the v0 clone has $(git -C "$T/clone0" tag | wc -l) tags"
log "clone v0: 80,002 tags"
log "ok"
