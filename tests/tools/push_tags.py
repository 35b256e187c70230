#!/usr/bin/env python3
"""Tags one image many times in a registry (docker-registry): reads REPO:FROM's manifest and PUTs
it as COUNT new tags <PREFIX>-<i> (zero-padded to about 40 characters, as CI tags are), over one
keep-alive connection. Prints how many tags it pushed.

  push_tags.py PORT REPO FROM COUNT [--prefix P]
"""
import argparse
import http.client
import sys

MEDIA = "application/vnd.oci.image.manifest.v1+json"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("repo")
    ap.add_argument("source")
    ap.add_argument("count", type=int)
    ap.add_argument("--prefix", default="build-2026-12-06-commit")
    a = ap.parse_args()
    c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
    c.request("GET", f"/v2/{a.repo}/manifests/{a.source}", headers={"Accept": MEDIA})
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        sys.exit(f"GET {a.repo}:{a.source}: HTTP {r.status}")
    media = r.getheader("Content-Type", MEDIA)
    for i in range(a.count):
        tag = f"{a.prefix}-{i:08d}-a1b2c3d4"
        c.request("PUT", f"/v2/{a.repo}/manifests/{tag}", body=body, headers={"Content-Type": media})
        r = c.getresponse()
        r.read()
        if r.status != 201:
            sys.exit(f"PUT {a.repo}:{tag}: HTTP {r.status}")
    print(a.count)


if __name__ == "__main__":
    main()
