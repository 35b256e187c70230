#!/usr/bin/env python3
"""Pushes COUNT small distinct blobs into a registry (docker-registry) repository by monolithic
upload (POST, then PUT with the digest) over one keep-alive connection, and writes their digests,
one per line, to OUT.

  push_blobs.py PORT REPO COUNT OUT [--size 512]
"""
import argparse
import hashlib
import http.client
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("repo")
    ap.add_argument("count", type=int)
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=512)
    a = ap.parse_args()
    c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
    with open(a.out, "w") as out:
        for i in range(a.count):
            data = (f"{a.repo} blob {i} ".encode() * (a.size // 8 + 1))[: a.size]
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            c.request("POST", f"/v2/{a.repo}/blobs/uploads/")
            r = c.getresponse()
            r.read()
            if r.status != 202:
                sys.exit(f"POST upload: HTTP {r.status}")
            loc = r.getheader("Location")
            if loc.startswith("http"):
                loc = "/" + loc.split("/", 3)[3]
            sep = "&" if "?" in loc else "?"
            c.request("PUT", f"{loc}{sep}digest={digest}", body=data,
                      headers={"Content-Type": "application/octet-stream"})
            r = c.getresponse()
            r.read()
            if r.status != 201:
                sys.exit(f"PUT blob {digest}: HTTP {r.status}")
            out.write(digest + "\n")


if __name__ == "__main__":
    main()
