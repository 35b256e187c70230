#!/usr/bin/env python3
"""A client that hangs up mid-body: sends one HTTP/1.1 request, reads the response until at least
READ bytes of it arrived (head included), then closes the connection (a reset with --reset, as a
killed process's kernel sends one when unread data remains). Prints how many bytes it read.

  hangup.py URL [--read N] [--method M] [--header 'K: V']... [--body-file F] [--reset]
"""
import argparse
import socket
import struct
import sys
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--read", type=int, default=64 * 1024)
    ap.add_argument("--method", default="GET")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--body-file")
    ap.add_argument("--reset", action="store_true")
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    body = open(a.body_file, "rb").read() if a.body_file else b""
    target = u.path + ("?" + u.query if u.query else "")
    lines = [f"{a.method} {target} HTTP/1.1", f"Host: {u.netloc}", "Connection: close"]
    lines += a.header
    if body or a.method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    s = socket.create_connection((u.hostname, u.port), timeout=30)
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    got = 0
    while got < a.read:
        chunk = s.recv(min(65536, a.read - got))
        if not chunk:
            break
        got += len(chunk)
    if a.reset:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print(got)
    return 0


if __name__ == "__main__":
    sys.exit(main())
