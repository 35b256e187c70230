#!/usr/bin/env bash
# Three tiers for Git, each a real process: site Outpost -> hub Outpost -> git http-backend origin
# (behind nginx, basic auth). The site's git.test upstream has the hub as its mirror, through a
# recording proxy that logs every request the hub receives from the site.
# - clones through the site are served from what the hub mirrors; the site never dials the origin;
# - a new commit reaches the site through the hub (each tier's sync_interval adds up);
# - origin stopped: a repository the hub mirrors is cloned through the site;
# - the origin's credentials never reach the hub;
# - hub stopped: the site's sync fails over to the origin and its status says so;
# - hub and origin stopped: the site serves its own mirror.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"

SECRET="git-s3cret-$RANDOM$RANDOM"
start_private_git_upstream "$SECRET"
make_manifest_repo org/app
make_manifest_repo org/lib

HUB=$(free_port)
write_git_outpost_config "$T/hub.yaml" "$HUB" "$T/hub-data" "sync_interval: 1s"
upstream_credentials "$T/hub.yaml" "$SECRET"
start_outpost hub "$T/hub.yaml"

start_recording_proxy hubrp "$HUB"
RP=$hubrp_PORT

SITE=$(free_port)
write_git_outpost_config "$T/site.yaml" "$SITE" "$T/site-data" "sync_interval: 1s" "probe_timeout: 1s"
upstream_credentials "$T/site.yaml" "$SECRET"
cat >>"$T/site.yaml" <<YAML
      mirrors:
        - url: http://127.0.0.1:$RP/git/git.test
          insecure: true
YAML
start_outpost site "$T/site.yaml"
VIA=http://127.0.0.1:$SITE/git/git.test/org/app.git
ORIGIN_URL=http://127.0.0.1:$GIT_UP_PORT

# repo_status FIELD: a field of the site's status for org/app
repo_status() {
  curl -sf "http://127.0.0.1:$SITE/api/v1/status" |
    python3 -c "import json,sys; print([r for r in json.load(sys.stdin)['git'] if r['repo'].endswith('org/app')][0].get('$1', ''))"
}
# source_field URL FIELD: a field of one source of the site's git.test upstream
source_field() {
  curl -sf "http://127.0.0.1:$SITE/api/v1/status" |
    python3 -c "import json,sys; u=[u for u in json.load(sys.stdin)['upstreams'] if u['kind']=='git' and u['name']=='git.test'][0]; print([s for s in u['sources'] if s['url']=='$1'][0]['$2'])"
}
# wait_site_head SHA: until ref discovery through the site advertises SHA on main (each tier
# syncs every second; a request waits for a refresh within its budget).
wait_site_head() {
  for _ in $(seq 150); do
    [[ $(git ls-remote "$VIA" refs/heads/main | cut -f1) == "$1" ]] && return 0
    sleep 0.1
  done
  die "the site never advertised $1 (has $(git ls-remote "$VIA" refs/heads/main))"
}

log "--- clone through site -> hub -> origin"
# The hub mirrors the repository first: its own cold clone from the origin may take longer than
# the site's probe_timeout under load, and the site would then rightly fail over to the origin.
git ls-remote "http://127.0.0.1:$HUB/git/git.test/org/app.git" >/dev/null || die "the hub cannot mirror org/app"
git clone -q "$VIA" "$T/clone1" || die "clone through the hierarchy"
[[ $(git -C "$T/clone1" rev-parse HEAD) == $(git -C "$T/work/org/app" rev-parse HEAD) ]] || die "wrong HEAD"
[[ $(repo_status synced_from) == "http://127.0.0.1:$RP/git/git.test" ]] || die "site did not sync from the hub: $(repo_status synced_from)"
[[ $(source_field "$ORIGIN_URL" contacted) == False ]] || die "the site dialled the origin while the hub was up"
grep -q "git-upload-pack" "$T/hubrp-requests.log" || die "no fetch went through the hub"

log "--- a new commit reaches the site through the hub"
new=$(commit_upstream org/app "through the hub")
wait_site_head "$new"

log "--- the origin's credentials never reach the hub"
if grep -v "auth=-" "$T/hubrp-requests.log" | grep_q .; then
  die "a request to the hub carried credentials: $(grep -v 'auth=-' "$T/hubrp-requests.log" | sed -n 1p)"
fi
secret_in_no_log "$SECRET" "$T/hubrp-requests.log"

log "--- origin stopped: a repository only the hub has is cloned through the site"
git clone -q "http://127.0.0.1:$HUB/git/git.test/org/lib.git" "$T/hub-lib" || die "warming the hub with org/lib"
stop_git_upstream
git clone -q "http://127.0.0.1:$SITE/git/git.test/org/lib.git" "$T/site-lib" || die "origin down: the site could not clone org/lib from the hub"
[[ $(git -C "$T/site-lib" rev-parse HEAD) == $(git -C "$T/work/org/lib" rev-parse HEAD) ]] || die "org/lib: wrong HEAD"
restart_git_upstream

log "--- hub stopped: the site fails over to the origin, and says so"
stop_pid "$hub_PID"
new=$(commit_upstream org/app "hub down")
wait_site_head "$new"
# The refs move before the sync records where they came from: wait for that record.
for _ in $(seq 50); do [[ $(repo_status synced_from) == "$ORIGIN_URL" ]] && break; sleep 0.1; done
[[ $(repo_status synced_from) == "$ORIGIN_URL" ]] || die "site did not sync from the origin: $(repo_status synced_from)"
failover=$(repo_status failover)
[[ $failover == *"mirror http://127.0.0.1:$RP/git/git.test "*"502"* ]] || die "status does not say the sync failed over: '$failover'"
log "status: synced from $(repo_status synced_from) ($failover)"
[[ $(source_field "http://127.0.0.1:$RP/git/git.test" up) == False ]] || die "hub not shown down"

log "--- hub and origin stopped: the site serves its own mirror"
stop_git_upstream
git clone -q "$VIA" "$T/clone2" || die "offline clone from the site"
[[ $(git -C "$T/clone2" rev-parse HEAD) == "$new" ]] || die "offline clone has the wrong HEAD"
git -C "$T/clone1" fetch -q origin || die "offline fetch from the site"
log "ok"
