#!/usr/bin/env bash
# A low descriptor limit. Outpost raises its soft RLIMIT_NOFILE to the hard limit at start (as
# nginx and the Go runtime do) and exports process_open_fds and process_max_fds. With the hard
# limit itself at 64, 250 idle connections held for 3 s exhaust its descriptors: the accept loop
# pauses instead of spinning, logs about it once per interval with a count (not a line per
# failed accept), and serves again as soon as the connections close.
source "$(dirname "$0")/lib.sh"

start_registry up
push_test_image test/app v1 1 1

serve_limited() {  # serve_limited NAME ULIMIT_ARGS…: Outpost under `ulimit ARGS`
  local name=$1 port
  shift
  port=$(free_port)
  write_outpost_config "$T/$name.yaml" "$port" "$T/$name-data" upstream.test "http://127.0.0.1:$up_PORT"
  (ulimit "$@" && exec "$OUTPOST_BIN" serve --config "$T/$name.yaml") >>"$T/$name.log" 2>&1 &
  started "$name" $! "$port" "http://127.0.0.1:$port/healthz"
}

log "soft limit 64, hard limit unchanged: raised at start"
serve_limited soft -Sn 64
max=$(metric process_max_fds "$soft_PORT")
hard=$(ulimit -Hn)
[[ $max == "$hard" || ($hard == unlimited && $max -gt 64) ]] || die "process_max_fds is $max, the hard limit $hard"
grep -q 'raised the descriptor limit from 64 to' "$T/soft.log" || die "the raise is not logged"
open=$(metric process_open_fds "$soft_PORT")
((open > 3 && open < 200)) || die "process_open_fds is $open"
log "process_max_fds $max, process_open_fds $open"

log "hard limit 64: 250 idle connections for 3 s"
serve_limited low -n 64
[[ $(metric process_max_fds "$low_PORT") == 64 ]] || die "process_max_fds is not 64"
pid=$low_PID
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
before=$(cpu)
held=$(python3 "$TOOLS/hold_connections.py" 127.0.0.1 "$low_PORT" 250 3)
after=$(cpu)
kill -0 "$pid" || die "outpost died"
curl -fsS -o /dev/null "http://127.0.0.1:$low_PORT/healthz" || die "outpost does not serve after the connections closed"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$low_PORT/upstream.test/test/app:v1" "dir:$T/pulled" ||
  die "a pull after the connections closed failed"
lines=$(grep -c 'accept' "$T/low.log" || true)
paused=$(metric outpost_http_accept_paused_total "$low_PORT")
log "$held connections held: $lines log lines about accept, $paused paused accepts, $((after - before)) ticks of CPU"
((paused > 0)) || die "the descriptors never ran out (no paused accept)"
((lines <= 3)) || die "$lines log lines about accept in 3 s: $(grep accept "$T/low.log" | sed -n 1,5p)"
grep -q 'pausing accepts for 100 ms' "$T/low.log" || die "the pause is not logged"
log "ok"
