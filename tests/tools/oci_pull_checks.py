#!/usr/bin/env python3
"""The read-only pull checks of the OCI distribution-spec conformance suite (v1.0.1, "pull"
category), reproduced with the standard library, plus tag-list paging and referrers checks.

  oci_pull_checks.py pull BASE REPO TAG          the conformance pull checks against one image
  oci_pull_checks.py tags BASE REPO TAG1,TAG2..  follows Link from ?n=1 and ?n=2 to the end: every
                                                 tag exactly once, in lexical order, and nothing else
  oci_pull_checks.py referrers BASE REPO DIGEST STATUS [COUNT]
                                                 GET referrers: STATUS, and COUNT descriptors on 200

BASE is http://host:port; REPO may carry a query (e.g. "?ns=x" is appended by --ns NS).
Prints one line per check; exits 1 on the first failure.
"""
import hashlib, json, sys, urllib.error, urllib.parse, urllib.request

ACCEPT = ", ".join([
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json"])
NS = ""


def req(method, url, headers=None, data=None):
    if NS:
        url += ("&" if "?" in url else "?") + "ns=" + NS
    r = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    if not ok:
        sys.exit(1)


def error_code(body):
    try:
        return json.loads(body)["errors"][0]["code"]
    except Exception:
        return None


def pull(base, repo, tag):
    v2 = f"{base}/v2/{repo}"
    missing_blob = "sha256:" + "0" * 64
    s, h, _ = req("GET", f"{base}/v2/")
    check("GET /v2/ answers 200", s == 200, s)
    s, h, _ = req("HEAD", f"{v2}/manifests/{tag}", {"Accept": ACCEPT})
    digest = h.get("Docker-Content-Digest")
    check("HEAD manifest by tag: 200 with Docker-Content-Digest", s == 200 and digest, (s, digest))
    s, h, _ = req("HEAD", f"{v2}/manifests/{digest}", {"Accept": ACCEPT})
    check("HEAD manifest by digest: 200", s == 200 and h.get("Docker-Content-Digest") == digest, s)
    s, _, _ = req("HEAD", f"{v2}/manifests/nonexistent-tag", {"Accept": ACCEPT})
    check("HEAD nonexistent manifest: 404", s == 404, s)
    s, h, body = req("GET", f"{v2}/manifests/{tag}", {"Accept": ACCEPT})
    check("GET manifest by tag: 200, body matches its digest",
          s == 200 and "sha256:" + hashlib.sha256(body).hexdigest() == digest, s)
    manifest = json.loads(body)
    s, h, body2 = req("GET", f"{v2}/manifests/{digest}", {"Accept": ACCEPT})
    check("GET manifest by digest: 200, same bytes", s == 200 and body2 == body, s)
    s, _, body = req("GET", f"{v2}/manifests/nonexistent-tag", {"Accept": ACCEPT})
    check("GET nonexistent manifest: 404 MANIFEST_UNKNOWN",
          s == 404 and error_code(body) == "MANIFEST_UNKNOWN", (s, body[:200]))
    for method in ("GET", "HEAD"):
        s, _, _ = req(method, f"{v2}/manifests/.INVALID_MANIFEST_NAME", {"Accept": ACCEPT})
        check(f"{method} manifest with an invalid reference: 404", s == 404, s)
    if "manifests" in manifest:  # an index: the blob checks use its first image
        child = manifest["manifests"][0]["digest"]
        manifest = json.loads(req("GET", f"{v2}/manifests/{child}", {"Accept": ACCEPT})[2])
    config = manifest["config"]["digest"]
    s, h, _ = req("HEAD", f"{v2}/blobs/{config}")
    check("HEAD blob: 200 with Content-Length", s == 200 and int(h.get("Content-Length", -1)) ==
          manifest["config"]["size"], (s, h.get("Content-Length")))
    s, _, _ = req("HEAD", f"{v2}/blobs/{missing_blob}")
    check("HEAD nonexistent blob: 404", s == 404, s)
    s, _, body = req("GET", f"{v2}/blobs/{config}")
    check("GET blob: 200, body matches its digest",
          s == 200 and "sha256:" + hashlib.sha256(body).hexdigest() == config, s)
    s, _, body = req("GET", f"{v2}/blobs/{missing_blob}")
    check("GET nonexistent blob: 404 BLOB_UNKNOWN",
          s == 404 and error_code(body) == "BLOB_UNKNOWN", (s, body[:200]))


def walk(base, repo, n):
    url, seen, pages = f"{base}/v2/{repo}/tags/list?n={n}", [], 0
    while url:
        pages += 1
        check(f"n={n}: fewer than 1000 pages (no loop)", pages < 1000)
        s, h, body = req("GET", url)
        check(f"GET {url}: 200", s == 200, (s, body[:200]))
        tags = json.loads(body).get("tags") or []
        check(f"n={n}: a page holds at most n tags", len(tags) <= n, tags)
        seen += tags
        link = h.get("Link")
        if not link:
            break
        target = link[link.index("<") + 1:link.index(">")]
        target = target.replace(f"ns={NS}", "").rstrip("&?") if NS else target
        url = urllib.parse.urljoin(base + "/", target)
    return seen


def tags(base, repo, expected):
    want = sorted(set(expected.split(",")))
    for n in (1, 2, 1000):
        seen = walk(base, repo, n)
        check(f"n={n}: every tag exactly once, in lexical order ({len(seen)} tags)", seen == want,
              f"got {seen}, want {want}")
    s, _, body = req("GET", f"{base}/v2/{repo}/tags/list")
    check("no n: the whole list, sorted", s == 200 and json.loads(body)["tags"] == want, body[:300])
    s, _, body = req("GET", f"{base}/v2/{repo}/tags/list?n=2&last={want[0]}")
    check("n=2&last=<first>: the two after it", json.loads(body)["tags"] == want[1:3], body[:300])


def referrers(base, repo, digest, status, count=None):
    s, h, body = req("GET", f"{base}/v2/{repo}/referrers/{digest}")
    check(f"referrers of {digest[:19]}: HTTP {status}", s == int(status), (s, body[:200]))
    if s == 200 and count is not None:
        n = len(json.loads(body)["manifests"])
        check(f"referrers: {count} descriptors", n == int(count), n)


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) > 1 and args[0] == "--ns":
        NS, args = args[1], args[2:]
    {"pull": pull, "tags": tags, "referrers": referrers}[args[0]](*args[1:])
