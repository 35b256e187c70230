#!/usr/bin/env python3
"""The rendezvous order Outpost's cluster uses (src/cluster/hrw.cpp), for tests that must know a
digest's owner: hrw.py KEY MEMBER... prints the members, the owner first."""
import sys

M = (1 << 64) - 1


def score(member, key):
    h = 0xCBF29CE484222325
    for b in member.encode() + b"\0" + key.encode():
        h ^= b
        h = (h * 0x100000001B3) & M
    h = (h + 0x9E3779B97F4A7C15) & M
    h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & M
    h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & M
    return h ^ (h >> 31)


key, members = sys.argv[1], sys.argv[2:]
for m in sorted(members, key=lambda m: (-score(m, key), m)):
    print(m)
