#!/usr/bin/env python3
"""Lists the processes a test left behind: every process whose environment holds MARK=VALUE
(lib.sh exports it, so everything a test starts inherits it, in any network namespace and
whatever its parent is now), except this script and its ancestors (the test's own shell).

  leftovers.py MARK VALUE        prints "PID COMMAND" per leftover; exit 0
  leftovers.py --kill MARK VALUE also sends SIGKILL to each
"""
import os, signal, sys


def ancestors():
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def main():
    args = sys.argv[1:]
    kill = args[:1] == ["--kill"]
    if kill:
        args = args[1:]
    needle = f"{args[0]}={args[1]}".encode()
    mine = ancestors()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in mine:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
            if needle not in env:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if state == "Z":
            continue  # exited, waiting to be reaped by its parent
        print(entry, cmd[:200])
        if kill:
            try:
                os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass


if __name__ == "__main__":
    main()
