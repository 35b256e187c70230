#!/usr/bin/env python3
"""COUNT slow clients of one URL: each connects, sends a GET and then reads nothing (a tiny
receive buffer), as a client on a slow link does, holding its connection for SECONDS. Meanwhile
PROBE_URL is fetched PROBES times, one after another, on a fresh connection each: prints one JSON
line {"connected": N, "probe_ms": [..]} and closes everything.

  slow_clients.py URL COUNT SECONDS [--probe URL] [--probes 50] [--ready-file F]
--ready-file: written once every client is connected (the caller samples the server then); the
hold ends SECONDS after that. The probes start --settle seconds (default 2) after it.
"""
import argparse
import json
import resource
import socket
import time
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("count", type=int)
    ap.add_argument("seconds", type=float)
    ap.add_argument("--probe")
    ap.add_argument("--probes", type=int, default=50)
    ap.add_argument("--ready-file")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds between the last connect and the first probe")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < a.count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, a.count + 256), hard))
    u = urllib.parse.urlsplit(a.url)
    req = f"GET {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\n\r\n".encode()
    held = []
    for _ in range(a.count):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            s.connect((u.hostname, u.port))
            s.sendall(req)
            held.append(s)
        except OSError:
            s.close()
    if a.ready_file:
        open(a.ready_file, "w").write(str(len(held)))
    probe_ms = []
    start = time.monotonic()
    time.sleep(a.settle)  # the server takes the burst in; the probes measure the steady state
    if a.probe:
        p = urllib.parse.urlsplit(a.probe)
        for _ in range(a.probes):
            t0 = time.monotonic()
            c = socket.create_connection((p.hostname, p.port), timeout=30)
            c.sendall(f"GET {p.path} HTTP/1.1\r\nHost: {p.netloc}\r\nConnection: close\r\n\r\n".encode())
            while c.recv(65536):
                pass
            c.close()
            probe_ms.append(round((time.monotonic() - t0) * 1000, 3))
    left = a.seconds - (time.monotonic() - start)
    if left > 0:
        time.sleep(left)
    for s in held:
        s.close()
    print(json.dumps({"connected": len(held), "probe_ms": probe_ms}))


if __name__ == "__main__":
    main()
