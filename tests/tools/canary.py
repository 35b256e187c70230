#!/usr/bin/env python3
"""A TCP listener that only counts: every accepted connection is logged and closed.

  canary.py --port P --log FILE

Tests point hostile requests at it (as upstream hosts, bundle sources, redirect targets) and
then assert that FILE stayed empty: Outpost never dialled it.
"""
import argparse, socket, time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--log", required=True)
a = ap.parse_args()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", a.port))
s.listen(64)
while True:
    c, peer = s.accept()
    with open(a.log, "a") as f:
        f.write(f"{time.time():.3f} connection from {peer[0]}:{peer[1]}\n")
    c.close()
