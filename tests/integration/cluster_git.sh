#!/usr/bin/env bash
# Git in a three-replica site cluster, against git http-backend: only the repository's owner
# fetches from the upstream; the other replicas clone and sync from the owner's mirror, so a clone
# from each replica is identical and the upstream sees one sync's requests. A push webhook sent to
# a replica that does not own the repository reaches the owner, which syncs once and has the
# others sync from it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"

start_git_upstream
make_manifest_repo org/app
P=("" "$(free_port)" "$(free_port)" "$(free_port)")
URLS=("" "http://127.0.0.1:${P[1]}" "http://127.0.0.1:${P[2]}" "http://127.0.0.1:${P[3]}")
for i in 1 2 3; do
  write_git_outpost_config "$T/r$i.yaml" "${P[$i]}" "$T/r$i-data" "sync_interval: 1h"
  cluster_yaml "${URLS[$i]}" "peers: [${URLS[1]}, ${URLS[2]}, ${URLS[3]}]" >>"$T/r$i.yaml"
  start_outpost "r$i" "$T/r$i.yaml"
done
replica_of() { local i; for i in 1 2 3; do [[ ${URLS[$i]} != "$1" ]] || echo "$i"; done; }
mapfile -t order < <(python3 "$TOOLS/hrw.py" "git/git.test/org/app" "${URLS[@]:1}")
o=$(replica_of "${order[0]}")
upstream_posts() { grep -c '"POST /org/app.git/git-upload-pack' "$T/git-upstream.log" || true; }
refs_of() { git -C "$1" for-each-ref --format='%(objectname) %(refname)' refs/remotes refs/tags; }

log "clone from each replica, the owner (replica $o) last"
for i in "${order[1]}" "${order[2]}" "${order[0]}"; do
  i=$(replica_of "$i")
  git clone -q "${URLS[$i]}/git/git.test/org/app.git" "$T/clone-$i" || die "clone from replica $i"
  [[ $i == $(replica_of "${order[1]}") ]] && per_sync=$(upstream_posts)
done
((per_sync > 0)) || die "the first clone made no upstream request"
[[ $(upstream_posts) == "$per_sync" ]] ||
  die "the upstream saw $(upstream_posts) upload-pack requests for 3 clones, one sync is $per_sync"
for i in 1 2 3; do
  diff <(refs_of "$T/clone-$i") <(refs_of "$T/clone-$o") >/dev/null || die "clone $i differs from the owner's"
  git -C "$T/clone-$i" fsck --full 2>/dev/null || die "clone $i is not sound"
done
log "3 identical clones; the upstream saw one sync ($per_sync upload-pack requests)"

log "a push, and its webhook sent to a replica that does not own the repository"
new=$(commit_upstream org/app "pushed")
before=$(upstream_posts)
other=$(replica_of "${order[2]}")
curl -fsS -X POST -H 'Content-Type: application/json' -d '{"repo": "git.test/org/app"}' \
  "${URLS[$other]}/api/v1/git/webhook" >/dev/null || die "webhook refused"
for i in 1 2 3; do
  wait_advertised "${URLS[$i]}/git/git.test/org/app.git" "$new" || die "replica $i does not serve the pushed commit"
done
[[ $(($(upstream_posts) - before)) == "$per_sync" ]] ||
  die "the upstream saw $(($(upstream_posts) - before)) upload-pack requests for the push, one sync is $per_sync"
log "every replica serves the push; the upstream saw one sync"
log "ok"
