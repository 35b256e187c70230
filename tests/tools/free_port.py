#!/usr/bin/env python3
"""Prints a TCP port that is free on 127.0.0.1 right now (never 2024)."""
import socket
while True:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    if port != 2024:
        print(port)
        break
