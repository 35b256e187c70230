#!/usr/bin/env bash
# A short outage of the Git upstream with many mirrors syncing often: while the host is down,
# queued syncs fail at once and one probe at a time decides (the backoff counts outages, not the
# syncs queued behind it), so after 7 s down the mirrors sync again within seconds, not after the
# backoff's maximum (5 minutes here). The outage is a fault proxy in front of git http-backend
# refusing every connection; its log counts the dials.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"

REPOS=12
start_git_upstream
for i in $(seq "$REPOS"); do make_manifest_repo "org/r$i"; done
start_proxy gp "$GIT_UP_PORT"
OP=$(free_port)
write_git_outpost_config "$T/outpost.yaml" "$OP" "$T/data" "sync_interval: 1s"
sed -i "s|^    breaker_max_backoff: 2s|    breaker_max_backoff: 5m|; s|^  breaker_max_backoff: 2s|  breaker_max_backoff: 5m|; s|http://127.0.0.1:$GIT_UP_PORT|http://127.0.0.1:$gp_PORT|" "$T/outpost.yaml"
grep_q "breaker_max_backoff: 5m" "$T/outpost.yaml" || die "config: $(cat "$T/outpost.yaml")"
start_outpost op "$T/outpost.yaml"
via() { echo "http://127.0.0.1:$OP/git/git.test/org/r$1.git"; }
for i in $(seq "$REPOS"); do git ls-remote "$(via "$i")" >/dev/null || die "first sync of r$i"; done

log "the upstream refuses every connection for 7 s ($REPOS mirrors, sync_interval 1s)"
before=$(wc -l <"$T/gp.conns")
echo refuse >"$gp_CTL"
sleep 7  # the outage itself
echo pass >"$gp_CTL"
dials=$(($(wc -l <"$T/gp.conns") - before))
log "the upstream is back; $dials dials reached it while it was down"
new=$(commit_upstream org/r1 "after the outage")
wait_advertised "$(via 1)" "$new" 30 ||
  die "30 s after a 7 s outage, the mirror still has not synced (the backoff grew with the queued syncs)"
log "the push after the outage is served"
((dials <= 3 * REPOS)) || die "$dials dials in 7 s of outage: queued syncs dial the down host"
log "ok"
