#!/usr/bin/env bash
# Idle mirrors at scale, against git http-backend (nginx) behind a fault proxy.
#  1. Unchanged repositories cost one upstream request per sync (a GET of the ref advertisement)
#     and no git process: counted in the upstream's access log and Outpost's own metrics.
#  2. A push shows within one sync interval without a webhook.
#  3. A frozen upstream (it takes requests and never answers) costs one request the refresh
#     budget, not every request: later ref discoveries answer from the mirrors at once.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"

REPOS=20
start_git_upstream
make_manifest_repo org/r1
for i in $(seq 2 "$REPOS"); do cp -a "$GIT_SRV/org/r1.git" "$GIT_SRV/org/r$i.git"; done
start_proxy gp "$GIT_UP_PORT"
OP=$(free_port)
write_git_outpost_config "$T/outpost.yaml" "$OP" "$T/data" "sync_interval: 1s" "stall_timeout: 30s"
sed -i "s|http://127.0.0.1:$GIT_UP_PORT|http://127.0.0.1:$gp_PORT|" "$T/outpost.yaml"
start_outpost op "$T/outpost.yaml"
via() { echo "http://127.0.0.1:$OP/git/git.test/org/r$1.git"; }
for i in $(seq "$REPOS"); do git ls-remote "$(via "$i")" >/dev/null || die "first sync of r$i"; done

# msum NAME [LABEL-FILTER]: the sum of a metric's series (whose labels contain the filter).
msum() {
  curl -s "http://127.0.0.1:$OP/metrics" |
    awk -v n="$1" -v f="${2:-}" 'index($1, n "{") == 1 && index($1, f) {s += $2} END {print s + 0}'
}
# wait_metric NAME FILTER VALUE: until the sum reaches VALUE (bounded: 120 s, a hang guard).
wait_metric() {
  local _
  for _ in $(seq 1200); do
    (($(msum "$1" "$2") >= $3)) && return 0
    sleep 0.1
  done
  die "$1{$2} never reached $3 (at $(msum "$1" "$2"))"
}
upstream_requests() { wc -l <"$T/git-upstream.log"; }

log "1. $REPOS idle mirrors, sync_interval 1s"
# Every mirror has one check-only sync behind it: it knows what its source last advertised.
wait_metric outpost_git_syncs_total 'result="unchanged"' "$REPOS"
# sync_counts: "<all syncs> <unchanged syncs> <git processes>" from one scrape (sums read from
# separate scrapes would count the syncs that end between them in one and not the other).
sync_counts() {
  curl -s "http://127.0.0.1:$OP/metrics" | awk '
    index($1, "outpost_git_syncs_total{") == 1 {all += $2; if (index($1, "result=\"unchanged\"")) u += $2}
    index($1, "outpost_git_processes_spawned_total{") == 1 {p += $2}
    END {print all + 0, u + 0, p + 0}'
}
read -r syncs0 unchanged0 spawns0 < <(sync_counts)
req0=$(upstream_requests)
wait_metric outpost_git_syncs_total 'result="unchanged"' $((unchanged0 + 5 * REPOS))
read -r syncs1 unchanged1 spawns1 < <(sync_counts)
syncs=$((syncs1 - syncs0))
unchanged=$((unchanged1 - unchanged0))
spawns=$((spawns1 - spawns0))
req=$(($(upstream_requests) - req0))
log "$syncs syncs ($unchanged unchanged): $req upstream requests, $spawns git processes"
((syncs == unchanged)) || die "$((syncs - unchanged)) of $syncs idle syncs did more than a check"
((spawns == 0)) || die "$spawns git processes for unchanged repositories"
# Syncs in flight at either snapshot may have sent their request without being counted yet:
# at most max_parallel_syncs (4) either way.
((req <= syncs + 4 && req >= syncs - 4)) || die "$req upstream requests for $syncs syncs"
other=$(tail -n "$req" "$T/git-upstream.log" |
  grep -vc '"GET /org/r[0-9]*\.git/info/refs?service=git-upload-pack ' || true)
((other == 0)) || die "idle syncs sent $other requests other than ref checks"
curl -sf "http://127.0.0.1:$OP/api/v1/git/repos" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["sync_lag_seconds"] >= 0 and d["oldest_sync_seconds"] >= d["sync_lag_seconds"], d
assert d["never_synced"] == 0, d["never_synced"]
assert len(d["repos"]) == 20 and all(r["bytes"] > 0 for r in d["repos"]), "sizes"
' || die "/api/v1/git/repos: no lag or sizes"

log "2. a push shows within one interval, without a webhook"
new=$(commit_upstream org/r1 "pushed while idle")
wait_advertised "$(via 1)" "$new" 30 || die "the push never showed"
(($(msum outpost_git_syncs_total 'result="ok"') > syncs0 - unchanged0)) ||
  die "no fetching sync counted for the push"

log "3. the upstream freezes: it takes every request and answers nothing"
echo hold >"$gp_CTL"
# Every mirror is due for a refresh (older than one interval) before the requests.
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$OP/api/v1/git/repos" | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if all((r["stale_seconds"] or 0) > 1.5 for r in d["repos"]) else 1)' && break
  sleep 0.1
done
waited0=$(msum outpost_git_refresh_waits_total 'result="timeout"')
ended0=$(msum outpost_git_syncs_total)
for i in $(seq "$REPOS"); do
  git ls-remote "$(via "$i")" refs/heads/main >/dev/null || die "ls-remote of r$i while frozen"
done
waited=$(($(msum outpost_git_refresh_waits_total 'result="timeout"') - waited0))
ended=$(($(msum outpost_git_syncs_total) - ended0))
log "$REPOS ref discoveries while frozen: $waited waited out the budget ($ended syncs ended meanwhile)"
# A wait that times out marks the host overdue until a sync of it ends: one wait per sync ended.
((waited <= 1 + ended)) || die "$waited requests waited out the refresh budget"
echo pass >"$gp_CTL"
new=$(commit_upstream org/r1 "after the freeze")
wait_advertised "$(via 1)" "$new" 60 || die "no sync after the upstream answered again"
log "ok"
