#!/usr/bin/env bash
# Git cache benchmark: Outpost side by side with `git http-backend` (nginx + fcgiwrap) and
# `git daemon`, serving the same repository, same run, loopback. Prints a Markdown table, and one
# for storms: 20 concurrent identical clones and 20 concurrent identical incremental fetches, wall
# time and server CPU (every CPU's busy time during the storm less the git clients' own rusage).
#
#   bench/git_bench.sh [--refs 8000] [--commits 300] [--runs 20]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/bench/bench_lib.sh"
bench_options "$0 [--refs N] [--commits N] [--runs N]" REFS=8000 COMMITS=300 RUNS=20 -- "$@"
source "$root/tests/integration/git_lib.sh"

now_ns() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }
ticks() {  # CPU clock ticks of a process and its reaped children
  awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"
}
ratio() { python3 -c "print(f'{$1 / $2:.2f}x')"; }
time_ms() {  # time_ms CMD...: wall ms of one run
  local s e
  s=$(now_ns)
  "$@" >/dev/null 2>&1
  e=$(now_ns)
  echo $(((e - s) / 1000000))
}
med_time() {  # med_time N CMD...: median wall ms of N runs (CMD may use $RUN_DIR)
  local n=$1 i
  shift
  local -a t=()
  for i in $(seq "$n"); do
    export RUN_DIR=$T/run-$(now_ns)
    t+=("$(time_ms "$@")")
    [[ -d $RUN_DIR ]] || die "run failed: $*"
    rm -rf "$RUN_DIR"
  done
  median "${t[@]}"
}

log "building a repository: $COMMITS commits, $REFS refs"
start_git_upstream
w=$T/work/org/big
mkdir -p "$w" "$GIT_SRV/org"
git init -q "$w"
for i in $(seq "$COMMITS"); do
  d=$w/apps/app$((i % 40))
  mkdir -p "$d"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\ndata: {v: "%d"}\n' "$i" "$i" >"$d/cm$i.yaml"
  head -c 3000 /dev/urandom | base64 >"$d/data$((i % 7)).txt"
  git -C "$w" add -A
  git -C "$w" commit -qm "change $i"
done
head=$(git -C "$w" rev-parse HEAD)
git -C "$w" rev-list HEAD | sed -n "1,${REFS}p" | awk -v n="$REFS" '{printf "create refs/tags/release-%05d %s\n", NR, $1}' >"$T/refs.in"
# more refs than commits: several tags per commit
python3 -c "
import sys
shas=[l.split()[2] for l in open('$T/refs.in')]
for i in range($REFS): print(f'create refs/heads/env/{i:05d} {shas[i % len(shas)]}')" >"$T/heads.in"
git -C "$w" update-ref --stdin <"$T/refs.in"
git -C "$w" update-ref --stdin <"$T/heads.in"
git clone -q --bare "$w" "$GIT_SRV/org/big.git"
git -C "$GIT_SRV/org/big.git" config uploadpack.allowFilter true
git -C "$GIT_SRV/org/big.git" repack -adq
refs=$(git -C "$GIT_SRV/org/big.git" for-each-ref | wc -l)

DP=$(free_port)
git daemon --reuseaddr --base-path="$GIT_SRV" --export-all --listen=127.0.0.1 --port="$DP" "$GIT_SRV" \
  >"$T/daemon.log" 2>&1 &
PIDS+=("$!")
DPID=$!
sleep 0.5

OP=$(free_port)
write_git_outpost_config "$T/outpost.yaml" "$OP" "$T/data" "sync_interval: 1h"
sed -i 's/^listen:/log: {level: warn}\nlisten:/' "$T/outpost.yaml"
start_outpost op "$T/outpost.yaml"
HB=http://127.0.0.1:$GIT_UP_PORT/org/big.git
OPU=http://127.0.0.1:$OP/git/git.test/org/big.git
GD=git://127.0.0.1:$DP/org/big.git
git ls-remote "$OPU" >/dev/null  # initial mirror

# info_refs URL: median ms of RUNS v0 advertisement fetches (what Argo CD polls)
info_refs() {
  local -a t=()
  for i in $(seq "$RUNS"); do
    t+=("$(curl -s -o /dev/null -w '%{time_total}' "$1/info/refs?service=git-upload-pack" |
      awk '{printf "%.2f", $1 * 1000}')")
  done
  median "${t[@]}"
}
advert_bytes=$(curl -s "$OPU/info/refs?service=git-upload-pack" | wc -c)

log "info/refs latency (median of $RUNS), advertisement of $advert_bytes bytes, $refs refs"
ir_hb=$(info_refs "$HB")
ir_op=$(info_refs "$OPU")

log "server CPU per v0 advertisement (500 each)"
# http-backend: the CGI itself (and the upload-pack it runs), measured as child rusage; the web
# server's share is left out, which favours http-backend.
cpu_hb=$(GIT_PROJECT_ROOT=$GIT_SRV python3 -c '
import os, resource, subprocess
env = dict(os.environ, REQUEST_METHOD="GET", GIT_HTTP_EXPORT_ALL="1", PATH_INFO="/org/big.git/info/refs",
           QUERY_STRING="service=git-upload-pack")
for _ in range(500):
    subprocess.run(["/usr/lib/git-core/git-http-backend"], env=env, stdout=subprocess.DEVNULL, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(round((r.ru_utime + r.ru_stime) * 1000 / 500, 2))')
# Outpost: its whole process (HTTP, routing, logging, cached body) over 500 requests.
cpu_op_a=$(ticks "$op_PID")
for i in $(seq 500); do curl -s -o /dev/null "$OPU/info/refs?service=git-upload-pack"; done
cpu_op_b=$(ticks "$op_PID")
hz=$(getconf CLK_TCK)
cpu_op=$(python3 -c "print(round(($cpu_op_b - $cpu_op_a) * 1000 / $hz / 500, 2))")

log "clones (median of 5)"
cl_hb2=$(med_time 5 bash -c "git -c protocol.version=2 clone -q $HB \$RUN_DIR")
cl_op2=$(med_time 5 bash -c "git -c protocol.version=2 clone -q $OPU \$RUN_DIR")
cl_gd2=$(med_time 5 bash -c "git -c protocol.version=2 clone -q $GD \$RUN_DIR")
cl_hb0=$(med_time 5 bash -c "git -c protocol.version=0 clone -q $HB \$RUN_DIR")
cl_op0=$(med_time 5 bash -c "git -c protocol.version=0 clone -q $OPU \$RUN_DIR")
cl_gd0=$(med_time 5 bash -c "git -c protocol.version=0 clone -q $GD \$RUN_DIR")
sh_hb=$(med_time 5 bash -c "git clone -q --depth 1 $HB \$RUN_DIR")
sh_op=$(med_time 5 bash -c "git clone -q --depth 1 $OPU \$RUN_DIR")
sh_gd=$(med_time 5 bash -c "git clone -q --depth 1 $GD \$RUN_DIR")

log "incremental fetch (5 new commits)"
git clone -q "$HB" "$T/inc-hb"
git clone -q "$OPU" "$T/inc-op"
git clone -q "$GD" "$T/inc-gd"
git -C "$w" remote add origin "$GIT_SRV/org/big.git"
push_commits() {  # push_commits TAG: 5 new commits upstream, and Outpost synced
  for i in 1 2 3 4 5; do
    echo "$1 $i" >>"$w/apps/app1/inc.txt"
    git -C "$w" add -A
    git -C "$w" commit -qm "$1 $i"
  done
  git -C "$w" push -q origin HEAD:refs/heads/main 2>/dev/null || git -C "$w" push -q origin HEAD:refs/heads/master
  curl -s -o /dev/null -d '{"repo":"git.test/org/big"}' "http://127.0.0.1:$OP/api/v1/git/webhook"
  sleep 2
}
push_commits inc
if_hb=$(time_ms git -C "$T/inc-hb" fetch -q origin)
if_op=$(time_ms git -C "$T/inc-op" fetch -q origin)
if_gd=$(time_ms git -C "$T/inc-gd" fetch -q origin)

log "10 concurrent clones"
conc() {
  local s e
  s=$(now_ns)
  for i in $(seq 10); do git clone -q "$1" "$T/conc-$2-$i" & done
  wait
  e=$(now_ns)
  rm -rf "$T"/conc-*
  echo $(((e - s) / 1000000))
}
cc_hb=$(conc "$HB" hb)
cc_op=$(conc "$OPU" op)
cc_gd=$(conc "$GD" gd)

log "storms: 20 concurrent identical clones, then 20 concurrent identical incremental fetches"
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
# storm CMD_WITH_%i: "wall_ms server_cpu_ms" of 20 copies of CMD at once (%i: the copy's index).
# Server CPU: every CPU's busy time during the storm (/proc/stat) less what the 20 git clients
# used (their rusage): the serving side of whichever server, with whatever it spawns.
storm() {
  local cmd=$1 s e a b i clients
  a=$(busy_ticks)
  s=$(now_ns)
  clients=$( (for i in $(seq 20); do bash -c "${cmd//%i/$i}" >/dev/null 2>&1 & done; wait; times) | tail -1)
  e=$(now_ns)
  b=$(busy_ticks)
  python3 - "$a" "$b" "$hz" "$clients" "$(((e - s) / 1000000))" <<'PY'
import re, sys
a, b, hz, clients, wall = sys.argv[1:6]
secs = sum(float(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", clients))
print(wall, max(0, round((int(b) - int(a)) * 1000 / int(hz) - secs * 1000)))
PY
}
fetch_runs() { metric 'outpost_git_upload_pack_runs_total{request="fetch"}' "$OP"; }
push_commits cold  # a state no clone has asked for yet: Outpost's first storm is cold
read -r st_hb st_hb_cpu <<<"$(storm "git clone -q $HB $T/st-hb-%i")"
read -r st_gd st_gd_cpu <<<"$(storm "git clone -q $GD $T/st-gd-%i")"
runs_0=$(fetch_runs)
read -r st_op st_op_cpu <<<"$(storm "git clone -q $OPU $T/st-op-%i")"
runs_1=$(fetch_runs)
rm -rf "$T"/st-op-*
read -r st_op2 st_op2_cpu <<<"$(storm "git clone -q $OPU $T/st-op-%i")"  # kept response
runs_2=$(fetch_runs)
push_commits storm
read -r sf_hb sf_hb_cpu <<<"$(storm "git -C $T/st-hb-%i fetch -q origin")"
read -r sf_gd sf_gd_cpu <<<"$(storm "git -C $T/st-gd-%i fetch -q origin")"
read -r sf_op sf_op_cpu <<<"$(storm "git -C $T/st-op-%i fetch -q origin")"
runs_3=$(fetch_runs)
rm -rf "$T"/st-*

log "info/refs with upstream down"
stop_git_upstream
ir_op_down=$(info_refs "$OPU")

cat <<TABLE

Repository: $COMMITS commits, $refs refs, v0 advertisement $advert_bytes bytes.

| measure | outpost | git http-backend (nginx+fcgiwrap) | git daemon | outpost / http-backend |
|---|---|---|---|---|
| info/refs v0, p50 ms (upstream up) | $ir_op | $ir_hb | | $(ratio "$ir_op" "$ir_hb") |
| info/refs v0, p50 ms (upstream down) | $ir_op_down | (down) | | |
| server CPU per v0 advertisement, ms | $cpu_op | $cpu_hb | | $(ratio "$cpu_op" "$cpu_hb") |
| full clone, protocol v2, ms | $cl_op2 | $cl_hb2 | $cl_gd2 | $(ratio "$cl_op2" "$cl_hb2") |
| full clone, protocol v0, ms | $cl_op0 | $cl_hb0 | $cl_gd0 | $(ratio "$cl_op0" "$cl_hb0") |
| shallow clone --depth 1, ms | $sh_op | $sh_hb | $sh_gd | $(ratio "$sh_op" "$sh_hb") |
| incremental fetch (5 commits), ms | $if_op | $if_hb | $if_gd | $(ratio "$if_op" "$if_hb") |
| 10 concurrent clones, ms | $cc_op | $cc_hb | $cc_gd | $(ratio "$cc_op" "$cc_hb") |

Storms (20 at once; Outpost's pack cache at its defaults): upload-pack runs for Outpost's first
clone storm $((runs_1 - runs_0)), for the second (the kept response) $((runs_2 - runs_1)), for the
fetch storm $((runs_3 - runs_2)); the others run one per client. Server CPU: all CPUs' busy time
during the storm less the git clients' own.

| measure | outpost | git http-backend (nginx+fcgiwrap) | git daemon | outpost / http-backend |
|---|---|---|---|---|
| 20 identical clones, wall ms | $st_op | $st_hb | $st_gd | $(ratio "$st_op" "$st_hb") |
| 20 identical clones, server CPU ms | $st_op_cpu | $st_hb_cpu | $st_gd_cpu | $(ratio "$st_op_cpu" "$st_hb_cpu") |
| 20 identical clones again (kept response), wall ms | $st_op2 | | | $(ratio "$st_op2" "$st_hb") |
| 20 identical clones again (kept response), server CPU ms | $st_op2_cpu | | | $(ratio "$st_op2_cpu" "$st_hb_cpu") |
| 20 identical incremental fetches, wall ms | $sf_op | $sf_hb | $sf_gd | $(ratio "$sf_op" "$sf_hb") |
| 20 identical incremental fetches, server CPU ms | $sf_op_cpu | $sf_hb_cpu | $sf_gd_cpu | $(ratio "$sf_op_cpu" "$sf_hb_cpu") |
TABLE
