#!/usr/bin/env python3
"""Opens COUNT idle TCP connections to HOST:PORT (connecting only: the server's backlog accepts
them even when it cannot), holds them for SECONDS, then closes them all. Prints how many
connected.

  hold_connections.py HOST PORT COUNT SECONDS
"""
import resource
import socket
import sys
import time


def main():
    host, port, count, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 32:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 64), hard))
    held = []
    for _ in range(count):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect((host, port))
            held.append(s)
        except OSError:
            s.close()
    time.sleep(seconds)
    for s in held:
        s.close()
    print(len(held))


if __name__ == "__main__":
    main()
