#!/usr/bin/env bash
# Clone and fetch storms share one pack (git/pack_cache.hpp), with real git, go-git and a
# git http-backend upstream:
#   - 20 concurrent identical full clones: one upload-pack run (the metric), every clone passes
#     git fsck --full and has the same refs;
#   - 20 concurrent identical incremental fetches after a push and a sync: one more run, each gets
#     the new commit; a fresh clone after the sync gets it too (the key changed: the old entry is
#     not used);
#   - protocol v0 and go-git clones, and a raw v0 request without side-band, each valid;
#   - a shallow and a filtered clone never get the full clone's pack;
#   - the cache stays under max_bytes;
#   - kill -9 while a shared run is in progress: after the restart no partial entry exists and a
#     clone is served whole.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"

start_git_upstream
make_manifest_repo org/app
OP=$(free_port)
# min_requests 1: every response is kept, so a storm makes exactly one run however it interleaves.
write_git_outpost_config "$T/op.yaml" "$OP" "$T/data" "sync_interval: 1s" \
  "pack_cache: {min_requests: 1, max_bytes: 400000}"
start_outpost op "$T/op.yaml"
VIA=http://127.0.0.1:$OP/git/git.test/org/app.git
runs() { metric 'outpost_git_upload_pack_runs_total{request="fetch"}' "$OP"; }
served() { metric "outpost_git_pack_cache_requests_total{result=\"$1\"}" "$OP"; }
git ls-remote "$VIA" >/dev/null || die "ls-remote through Outpost"

# storm N CMD...: N copies of CMD at once (each with its index as $i), all must succeed
storm() {
  local n=$1 pids=() i rc=0
  shift
  for i in $(seq "$n"); do
    ("$@" "$i") >"$T/storm.$i.log" 2>&1 &
    pids+=("$!")
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || { rc=1; log "storm member $((i + 1)): $(tail -3 "$T/storm.$((i + 1)).log")"; }; done
  return $rc
}
clone_v2() { git -c protocol.version=2 clone -q "$VIA" "$T/c$1"; }
checked() {  # checked DIR...: git fsck --full passes, refs identical to the first
  local d first=$1
  for d in "$@"; do
    git -C "$d" fsck --full >/dev/null 2>&1 || die "git fsck --full failed in $d"
    diff <(git -C "$first" for-each-ref) <(git -C "$d" for-each-ref) >/dev/null || die "refs of $d differ"
  done
}

log "20 concurrent identical full clones (protocol v2)"
before=$(runs)
storm 20 clone_v2 || die "a clone of the storm failed"
checked "$T"/c{1..20}
[[ $(($(runs) - before)) == 1 ]] || die "20 identical clones made $(($(runs) - before)) upload-pack runs, not 1"
log "hits $(served hit), joined $(served joined), misses $(served miss)"
[[ $(($(served hit) + $(served joined))) == 19 ]] || die "19 clones should have shared the run: hits $(served hit) joined $(served joined)"

log "a push upstream and a sync; 20 concurrent identical incremental fetches"
new=$(commit_upstream org/app "storm")
for _ in $(seq 100); do git ls-remote "$VIA" refs/heads/main | grep_q "$new" && break; sleep 0.1; done
git ls-remote "$VIA" refs/heads/main | grep_q "$new" || die "Outpost never advertised $new"
before=$(runs)
fetch_one() { git -C "$T/c$1" -c protocol.version=2 fetch -q origin; }
storm 20 fetch_one || die "a fetch of the storm failed"
[[ $(($(runs) - before)) == 1 ]] || die "20 identical fetches made $(($(runs) - before)) runs, not 1"
for i in $(seq 20); do
  [[ $(git -C "$T/c$i" rev-parse origin/main) == "$new" ]] || die "fetch $i did not get $new"
done
checked "$T"/c{1..20}
before=$(runs)
git clone -q "$VIA" "$T/after" || die "clone after the sync"
[[ $(git -C "$T/after" rev-parse HEAD) == "$new" ]] || die "a clone after the sync did not get $new (an old entry was served)"
[[ $(($(runs) - before)) == 1 ]] || die "the clone after the sync made no run: the old key was used"

log "protocol v0 and go-git"
clone_v0() { git -c protocol.version=0 clone -q "$VIA" "$T/v0-$1"; }
before=$(runs)
storm 5 clone_v0 || die "a v0 clone failed"
checked "$T/after" "$T"/v0-{1..5}
[[ $(($(runs) - before)) == 1 ]] || die "5 identical v0 clones made $(($(runs) - before)) runs"
build_gogit
gogit_one() { "$GOGIT" clone "$VIA" "$T/gg-$1"; }
storm 5 gogit_one || die "a go-git clone failed"
for i in 1 2 3 4 5; do grep -q "$new" "$T/storm.$i.log" || die "go-git clone $i: $(cat "$T/storm.$i.log")"; done

log "a v0 request without side-band: the raw pack, the same bytes twice"
pkt() { printf '%04x%s' $((${#1} + 4)) "$1"; }
{ pkt "want $new ofs-delta
"; printf 0000; pkt "done
"; } >"$T/raw.req"
for n in 1 2; do
  curl -sf -H 'Content-Type: application/x-git-upload-pack-request' --data-binary @"$T/raw.req" \
    "$VIA/git-upload-pack" -o "$T/raw.$n" || die "raw v0 request $n"
done
cmp -s "$T/raw.1" "$T/raw.2" || die "two identical raw requests got different bytes"
[[ $(head -c 8 "$T/raw.1") == 0008NAK* ]] || die "the raw response does not start with NAK"
git init -q --bare "$T/raw.git"
tail -c +9 "$T/raw.1" | git -C "$T/raw.git" index-pack --stdin >/dev/null || die "the raw pack does not index"

log "shallow and filtered clones never get the full clone's pack"
misses=$(served miss)
git clone -q --depth 1 "$VIA" "$T/shallow" || die "shallow clone"
[[ $(git -C "$T/shallow" rev-list --count HEAD) == 1 ]] || die "the shallow clone is not shallow"
git clone -q --filter=blob:none --no-checkout "$VIA" "$T/filtered" || die "filtered clone"
git -C "$T/filtered" rev-list --objects --missing=print HEAD | grep_q '^?' || die "the filtered clone holds every blob"
[[ $(($(served miss) - misses)) == 2 ]] || die "shallow and filtered clones were served a kept pack"

log "the cache stays under max_bytes (400000)"
bytes=$(metric outpost_git_pack_cache_bytes "$OP")
entries=$(metric outpost_git_pack_cache_entries "$OP")
log "kept: $entries responses, $bytes bytes"
((bytes <= 400000)) || die "the pack cache holds $bytes bytes, over max_bytes"
held=$(find "$T/data/git-packs" -maxdepth 1 -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
((held <= 400000)) || die "the pack cache directory holds $held bytes"

log "the status API, outpost status and the page's data show the pack cache"
curl -sf "http://127.0.0.1:$OP/api/v1/status" | python3 -c '
import json, sys
pc = json.load(sys.stdin)["git_pack_cache"]
assert pc["runs_saved"] == pc["hits"] + pc["joined"] and pc["runs_saved"] >= 19 + 19 + 4, pc
assert pc["served_bytes"] > 0 and pc["entries"] > 0 and pc["bytes"] <= 400000, pc
print("pack cache:", pc)' || die "the status API does not show the pack cache"
[[ $(metric outpost_git_pack_cache_runs_saved_total "$OP") -ge 42 ]] || die "runs saved metric"
"$OUTPOST_BIN" status --server "http://127.0.0.1:$OP" >"$T/status.txt" || true  # 1: not offline-ready
grep -q 'pack cache: .* upload-pack runs saved' "$T/status.txt" ||
  die "outpost status does not show the pack cache"

log "kill -9 while a shared run is in progress"
mkdir -p "$T/work/big" && git -C "$T/work/big" init -q
head -c 40000000 /dev/urandom >"$T/work/big/blob.bin"
git -C "$T/work/big" add -A && git -C "$T/work/big" commit -qm big
git clone -q --bare "$T/work/big" "$GIT_SRV/org/big.git"
BIG=http://127.0.0.1:$OP/git/git.test/org/big.git
git ls-remote "$BIG" >/dev/null || die "ls-remote big"
big_clone() { git clone -q "$BIG" "$T/big-$1"; }
storm 3 big_clone &
storm_pid=$!
pid=""
for _ in $(seq 600); do
  pid=$(pgrep -f "upload-pack --strict --stateless-rpc .*org/big.git" | sed -n 1p) && [[ -n $pid ]] && break
  sleep 0.02
done
[[ -n $pid ]] || die "no upload-pack run for the big clone"
kill -STOP -- "-$pid" 2>/dev/null || true  # hold the run where it is
partial=$(find "$T/data/git-packs/tmp" -type f | wc -l)
kill -9 "$op_PID"
kill -9 -- "-$pid" 2>/dev/null || true
wait "$storm_pid" && log "(the run had finished before it was held)" || log "the clients failed cleanly"
log "runs in progress when killed: $partial"
start_outpost op "$T/op.yaml"
[[ -z $(find "$T/data/git-packs/tmp" -type f) ]] || die "a partial run survived the restart"
for f in $(find "$T/data/git-packs" -maxdepth 1 -type f); do
  [[ $(basename "$f") =~ ^[0-9a-f]{64}$ ]] || die "unexpected file in the pack cache: $f"
done
git clone -q "$BIG" "$T/big-after" || die "clone after the restart"
git -C "$T/big-after" fsck --full >/dev/null 2>&1 || die "the clone after the restart fails fsck"
cmp -s "$T/big-after/blob.bin" "$T/work/big/blob.bin" || die "the big blob differs"
log "ok"
