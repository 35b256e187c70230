#!/usr/bin/env bash
# Runs both Quick start commands, in order, on a fresh minimal Debian 12: a
# `debootstrap --variant=minbase bookworm` chroot holding a clean clone of HEAD. These machines
# have packages preinstalled (GoogleTest, kubectl…) that hide a missing install step; this does not.
#   scripts/check-fresh.sh [DIR]    DIR: where the chroot goes (default /var/tmp/outpost-fresh,
#                                   recreated); KEEP_FRESH=1 keeps it afterwards
# As root. The chroot gets this machine's apt sources, resolver and local CA certificates (npm's
# registry is reached through them), and a policy-rc.d so that packages start no services. The
# run command serves on a free loopback port (OUTPOST_LISTEN) until /healthz and /v2/ answer, and
# is stopped; then the test command runs to its end. Exits non-zero when either fails; the logs are
# DIR.run.log and DIR.test.log.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-/var/tmp/outpost-fresh}
[[ $(id -u) -eq 0 ]] || { echo "check-fresh: run as root" >&2; exit 2; }

if [[ -z ${OUTPOST_FRESH_INNER:-} ]]; then
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  rm -rf "$dir"
  echo "check-fresh: debootstrap --variant=minbase bookworm $dir"
  debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian >"$dir.debootstrap.log" 2>&1 ||
    { tail -20 "$dir.debootstrap.log"; exit 1; }
  rm -f "$dir/etc/apt/sources.list"
  cp -a /etc/apt/sources.list.d/*.sources "$dir/etc/apt/sources.list.d/" 2>/dev/null || true
  [[ -f /etc/apt/sources.list ]] && cp /etc/apt/sources.list "$dir/etc/apt/sources.list"
  cp -L /etc/resolv.conf "$dir/etc/resolv.conf"
  mkdir -p "$dir/usr/local/share/ca-certificates"
  cp -a /usr/local/share/ca-certificates/. "$dir/usr/local/share/ca-certificates/" 2>/dev/null || true
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod +x "$dir/usr/sbin/policy-rc.d"
  git clone -q --no-local "$root" "$dir/src"
  # Everything below runs in a private mount namespace: the chroot's mounts go away with it.
  OUTPOST_FRESH_INNER=1 exec unshare --mount --propagation private "$0" "$dir"
fi

# The chroot's root must be a mount point of its own (ip netns exec remounts / as a slave).
mount --bind "$dir" "$dir"
mount -t proc proc "$dir/proc"
mount -t sysfs sys "$dir/sys"
mount --rbind /dev "$dir/dev"
mount -t tmpfs tmpfs "$dir/run"
mount -t tmpfs tmpfs "$dir/tmp"
in_chroot() { chroot "$dir" /usr/bin/env -i HOME=/root TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

port=$(python3 "$root/tests/tools/free_port.py" 2>/dev/null || echo 18080)
echo "check-fresh: 1/2 scripts/run.sh (OUTPOST_LISTEN=127.0.0.1:$port) — log $dir.run.log"
# Not through the in_chroot function: a backgrounded function is a subshell, and $! would be
# that subshell, not the server (chroot, env, bash and run.sh all exec into `outpost serve`).
chroot "$dir" /usr/bin/env -i HOME=/root TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  OUTPOST_LISTEN="127.0.0.1:$port" bash -c 'cd /src && exec scripts/run.sh' >"$dir.run.log" 2>&1 &
run_pid=$!
run_ok=0
while kill -0 "$run_pid" 2>/dev/null; do
  if curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && curl -sf -o /dev/null "http://127.0.0.1:$port/v2/"; then
    run_ok=1
    break
  fi
  sleep 2
done
kill -TERM "$run_pid" 2>/dev/null || true
wait "$run_pid" 2>/dev/null || true
if ((run_ok)); then echo "check-fresh: run command: serving, /healthz and /v2/ answer"; else
  echo "check-fresh: run command FAILED:"; tail -30 "$dir.run.log"; fi

echo "check-fresh: 2/2 scripts/test.sh — log $dir.test.log"
test_rc=0
in_chroot bash -c 'cd /src && scripts/test.sh' >"$dir.test.log" 2>&1 || test_rc=$?
grep -E "tests passed|tests failed|\*\*\*Failed|Timeout" "$dir.test.log" | tail -40 || true
echo "check-fresh: test command exit $test_rc"
# What the suite left running in the chroot (nothing, if every test stops what it started).
left=$(for p in /proc/[0-9]*; do [[ $(readlink "$p/root" 2>/dev/null) == "$dir" ]] && echo "${p#/proc/} $(tr '\0' ' ' <"$p/cmdline")"; done || true)
[[ -z $left ]] || { echo "check-fresh: processes left in the chroot:"; echo "$left"; }
[[ -n ${KEEP_FRESH:-} ]] || { umount -R "$dir/dev" 2>/dev/null || true; }
((run_ok)) && ((test_rc == 0)) && [[ -z $left ]]
