#!/usr/bin/env python3
"""Prints a TCP port that is free on 127.0.0.1 (or on the loopback address given as the only
argument, e.g. 127.0.0.2) right now (never 2024)."""
import socket
import sys
addr = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
while True:
    s = socket.socket()
    s.bind((addr, 0))
    port = s.getsockname()[1]
    s.close()
    if port != 2024:
        print(port)
        break
