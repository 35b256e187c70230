#!/usr/bin/env bash
# Git cache at fleet scale, beside git http-backend (nginx + fcgiwrap) in the same run, loopback:
#   1. ref advertisements of 1,000 to 20,000 refs: ls-remote through Outpost and direct;
#   2. idle mirrors: REPOS_SMALL and REPOS_LARGE unchanged repositories at a FAST_INTERVAL, and
#      REPOS_LARGE at LONG_INTERVAL (the default 60 s): Outpost's CPU (its process and every git child), the
#      upstream's requests and CPU (nginx, fcgiwrap, http-backend), git processes spawned — per
#      minute of IDLE seconds, after one interval of warm-up;
#   3. push-to-visible without webhooks at REPOS_LARGE and FAST_INTERVAL (PUSHES pushes);
#   4. a BIG_MB repository: cold clone through Outpost and direct, then a storm of STORM clones.
# Prints Markdown tables.
#
#   bench/git_scale_bench.sh [--repos-small 50] [--repos-large 300] [--fast-interval 10]
#                            [--long-interval 60] [--idle 60] [--pushes 5] [--big-mb 205]
#                            [--storm 10]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/bench_lib.sh"
bench_options "$0 [--repos-small N] [--repos-large N] [--fast-interval S] [--long-interval S] [--idle S] [--pushes N] [--big-mb N] [--storm N]" \
  REPOS_SMALL=50 REPOS_LARGE=300 FAST_INTERVAL=10 LONG_INTERVAL=60 IDLE=60 PUSHES=5 BIG_MB=205 STORM=10 -- "$@"
source "$root/tests/integration/git_lib.sh"

now_ns() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}x')"; }
hz=$(getconf CLK_TCK)
ticks() {  # CPU ticks of a process and its reaped children
  awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"
}
tree_ticks() {  # CPU ticks of processes and all their descendants (live and reaped)
  local total=0 p
  for p in "$@"; do
    for q in $p $(descendants "$p"); do
      [[ -r /proc/$q/stat ]] && total=$((total + $(ticks "$q" 2>/dev/null || echo 0)))
    done
  done
  echo "$total"
}
msum() {  # msum NAME [FILTER]: a metric's series summed
  curl -s "http://127.0.0.1:$OP/metrics" |
    awk -v n="$1" -v f="${2:-}" 'index($1, n "{") == 1 && index($1, f) {s += $2} END {print s + 0}'
}
ls_ms() {  # ls_ms URL PROTOCOL: median ms of 10 ls-remote runs
  local -a t=()
  local s e
  for _ in $(seq 10); do
    s=$(now_ns)
    git -c protocol.version="$2" ls-remote "$1" >/dev/null
    e=$(now_ns)
    t+=("$(((e - s) / 1000000))")
  done
  median "${t[@]}"
}

start_git_upstream
UPSTREAM_PIDS=("$GIT_UP_PID" $(pgrep -f "fcgiwrap -s unix:$T/fcgi.sock" || true))

log "1. ref counts"
make_manifest_repo org/refs
w=$T/work/org/refs
git -C "$w" remote set-url origin "$GIT_SRV/org/refs.git" 2>/dev/null || true
refs_rows=""
OP=$(free_port)
write_git_outpost_config "$T/outpost.yaml" "$OP" "$T/data-refs" "sync_interval: 1h"
sed -i 's/^listen:/log: {level: warn}\nlisten:/' "$T/outpost.yaml"
start_outpost op "$T/outpost.yaml"
have=0
for n in 1000 5000 20000; do
  git -C "$w" rev-parse HEAD | awk -v a="$have" -v b="$n" \
    '{for (i = a + 1; i <= b; i++) printf "create refs/tags/t%06d %s\n", i, $1}' |
    git -C "$GIT_SRV/org/refs.git" update-ref --stdin
  git -C "$GIT_SRV/org/refs.git" pack-refs --all
  have=$n
  curl -s -o /dev/null -X POST -d '{"repo":"git.test/org/refs"}' "http://127.0.0.1:$OP/api/v1/git/webhook"
  for _ in $(seq 300); do
    [[ $(git ls-remote "http://127.0.0.1:$OP/git/git.test/org/refs.git" | wc -l) -ge $n ]] && break
    sleep 0.1
  done
  hb0=$(ls_ms "http://127.0.0.1:$GIT_UP_PORT/org/refs.git" 0)
  op0=$(ls_ms "http://127.0.0.1:$OP/git/git.test/org/refs.git" 0)
  hb2=$(ls_ms "http://127.0.0.1:$GIT_UP_PORT/org/refs.git" 2)
  op2=$(ls_ms "http://127.0.0.1:$OP/git/git.test/org/refs.git" 2)
  refs_rows+="| $n | $op0 | $hb0 | $(ratio "$op0" "$hb0") | $op2 | $hb2 | $(ratio "$op2" "$hb2") |"$'\n'
done
stop_pid "$op_PID"

log "2. idle mirrors"
make_manifest_repo org/r1
for i in $(seq 2 "$REPOS_LARGE"); do cp -a "$GIT_SRV/org/r1.git" "$GIT_SRV/org/r$i.git"; done
idle_rows=""
# idle REPOS INTERVAL: starts Outpost (same data dir each time) mirroring r1..rREPOS, lets one
# interval pass, then measures IDLE seconds; appends a table row.
idle() {
  local repos=$1 interval=$2 i
  OP=$(free_port)
  write_git_outpost_config "$T/outpost.yaml" "$OP" "$T/data" "sync_interval: ${interval}s"
  sed -i 's/^listen:/log: {level: warn}\nlisten:/' "$T/outpost.yaml"
  start_outpost op "$T/outpost.yaml"
  for i in $(seq "$repos"); do
    git ls-remote "http://127.0.0.1:$OP/git/git.test/org/r$i.git" >/dev/null
  done
  sleep "$interval"  # warm-up: every mirror has synced once on its own schedule
  local up0 op0 req0 sp0 sy0 s e
  up0=$(tree_ticks "${UPSTREAM_PIDS[@]}")
  op0=$(tree_ticks "$op_PID")
  req0=$(wc -l <"$T/git-upstream.log")
  sp0=$(msum outpost_git_processes_spawned_total)
  sy0=$(msum outpost_git_syncs_total)
  s=$(now_ns)
  sleep "$IDLE"
  e=$(now_ns)
  local mins op_cpu up_cpu req sp sy
  mins=$(python3 -c "print(($e - $s) / 60e9)")
  op_cpu=$(python3 -c "print(round(($(tree_ticks "$op_PID") - $op0) / $hz / $mins, 2))")
  up_cpu=$(python3 -c "print(round(($(tree_ticks "${UPSTREAM_PIDS[@]}") - $up0) / $hz / $mins, 2))")
  req=$(python3 -c "print(round(($(wc -l <"$T/git-upstream.log") - $req0) / $mins))")
  sp=$(python3 -c "print(round(($(msum outpost_git_processes_spawned_total) - $sp0) / $mins))")
  sy=$(python3 -c "print(round(($(msum outpost_git_syncs_total) - $sy0) / $mins))")
  local share
  share=$(python3 -c "print(round($op_cpu / 60 * 100, 2))")
  idle_rows+="| $repos | ${interval} s | $sy | $req | $(python3 -c "print(round($req / max($sy, 1), 2))") | $sp | $op_cpu ($share %) | $up_cpu |"$'\n'
}
idle "$REPOS_SMALL" "$FAST_INTERVAL"
stop_pid "$op_PID"
idle "$REPOS_LARGE" "$FAST_INTERVAL"

log "3. push-to-visible at $REPOS_LARGE repositories, ${FAST_INTERVAL} s, no webhook"
lat=()
for p in $(seq "$PUSHES"); do
  i=$((1 + (p * 37) % REPOS_LARGE))
  wp=$T/work/push-$p
  git clone -q "$GIT_SRV/org/r$i.git" "$wp"
  echo "push $p" >>"$wp/apps/app1/notes.txt"
  git -C "$wp" add -A
  git -C "$wp" commit -qm "push $p"
  sha=$(git -C "$wp" rev-parse HEAD)
  s=$(now_ns)
  git -C "$wp" push -q origin HEAD:main
  until [[ $(git ls-remote "http://127.0.0.1:$OP/git/git.test/org/r$i.git" refs/heads/main | cut -f1) == "$sha" ]]; do
    sleep 0.05
  done
  e=$(now_ns)
  lat+=("$(((e - s) / 1000000))")
done
lat_p50=$(median "${lat[@]}")
lat_max=$(printf '%s\n' "${lat[@]}" | sort -g | tail -1)
stop_pid "$op_PID"
idle "$REPOS_LARGE" "$LONG_INTERVAL"

log "4. a ${BIG_MB} MB repository"
wb=$T/work/big
git init -q "$wb"
for c in $(seq $((BIG_MB / 5))); do
  head -c $((5 << 20)) /dev/urandom >"$wb/blob$((c % 7)).bin"
  git -C "$wb" add -A
  git -C "$wb" commit -qm "big $c"
done
git clone -q --bare "$wb" "$GIT_SRV/org/big.git"
git -C "$GIT_SRV/org/big.git" repack -adq  # one pack, as a served repository has
big_bytes=$(du -sb "$GIT_SRV/org/big.git" | cut -f1)
HB=http://127.0.0.1:$GIT_UP_PORT/org/big.git
OPU=http://127.0.0.1:$OP/git/git.test/org/big.git
time_clone() {
  local s e
  s=$(now_ns)
  git clone -q "$1" "$2"
  e=$(now_ns)
  rm -rf "$2"
  echo $(((e - s) / 1000000))
}
cold_op=$(time_clone "$OPU" "$T/cold-op")  # Outpost mirrors it first, then serves
cold_hb=$(time_clone "$HB" "$T/cold-hb")
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
storm() {  # storm URL: "wall_ms server_cpu_ms" of STORM clones at once
  local a b s e clients
  a=$(busy_ticks)
  s=$(now_ns)
  clients=$( (for i in $(seq "$STORM"); do git clone -q "$1" "$T/storm-$i" & done; wait; times) | tail -1)
  e=$(now_ns)
  b=$(busy_ticks)
  rm -rf "$T"/storm-*
  python3 - "$a" "$b" "$hz" "$clients" "$(((e - s) / 1000000))" <<'PY'
import re, sys
a, b, hz, clients, wall = sys.argv[1:6]
secs = sum(float(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", clients))
print(wall, max(0, round((int(b) - int(a)) * 1000 / int(hz) - secs * 1000)))
PY
}
read -r st_hb st_hb_cpu <<<"$(storm "$HB")"
read -r st_op st_op_cpu <<<"$(storm "$OPU")"

cat <<TABLE

Ref advertisements (ls-remote, median of 10 runs, ms):

| refs | outpost v0 | http-backend v0 | ratio | outpost v2 | http-backend v2 | ratio |
|---|---|---|---|---|---|---|
${refs_rows}
Idle mirrors (per minute, over ${IDLE} s after one interval of warm-up; CPU in seconds of one
core per minute, Outpost's process with its git children, and the upstream's nginx, fcgiwrap and
http-backend):

| repositories | sync_interval | syncs | upstream requests | requests per sync | git processes | Outpost CPU s (% of a core) | upstream CPU s |
|---|---|---|---|---|---|---|---|
${idle_rows}
Push-to-visible without webhooks, $REPOS_LARGE repositories at ${FAST_INTERVAL} s: p50 ${lat_p50} ms,
max ${lat_max} ms over ${PUSHES} pushes (${lat[*]}).

A $((big_bytes >> 20)) MiB repository ($((BIG_MB / 5)) commits of 5 MiB random files):

| measure | outpost | git http-backend | outpost / http-backend |
|---|---|---|---|
| cold clone, ms (Outpost mirrors it first) | $cold_op | $cold_hb | $(ratio "$cold_op" "$cold_hb") |
| $STORM concurrent clones, wall ms | $st_op | $st_hb | $(ratio "$st_op" "$st_hb") |
| $STORM concurrent clones, server CPU ms | $st_op_cpu | $st_hb_cpu | $(ratio "$st_op_cpu" "$st_hb_cpu") |
TABLE
