#!/usr/bin/env python3
"""Builds a classic Helm chart repository for tests: chart archives and an index.yaml.

  make_chart_repo.py DIR BASE_URL

DIR/stable/ gets:
  redis-18.1.0.tgz      listed with an absolute URL (BASE_URL/stable/redis-18.1.0.tgz) and digest
  redis-18.0.0.tgz      listed with a relative URL and digest
  nginx-1.2.3+build.1.tgz  relative URL, no digest, deprecated: true
  sub/app-0.1.0.tgz     relative URL into a subdirectory, digest
  bad-1.0.0.tgz         listed with a digest that does not match its bytes
  evil-6.6.6            listed with an absolute URL on another host (http://127.0.0.1:9/…)
  ../escape 1.0.0       a hostile chart name
and DIR/stable/expected.json: {file served by Outpost: {"sha256": …, "source": path under DIR}}.
"""
import hashlib, io, json, os, sys, tarfile


def chart(name, version, extra=b""):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for path, data in [(f"{name}/Chart.yaml",
                            f"apiVersion: v2\nname: {name}\nversion: {version}\n".encode()),
                           (f"{name}/values.yaml", b"replicas: 1\n" + extra),
                           (f"{name}/templates/cm.yaml", b"kind: ConfigMap\n" + os.urandom(2048))]:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def main():
    out, base = sys.argv[1], sys.argv[2].rstrip("/")
    d = os.path.join(out, "stable")
    os.makedirs(os.path.join(d, "sub"), exist_ok=True)
    charts = [  # name, version, file (under stable/), url in index, digest?
        ("redis", "18.1.0", "redis-18.1.0.tgz", f"{base}/stable/redis-18.1.0.tgz", True),
        ("redis", "18.0.0", "redis-18.0.0.tgz", "redis-18.0.0.tgz", True),
        ("nginx", "1.2.3+build.1", "nginx-1.2.3+build.1.tgz", "nginx-1.2.3+build.1.tgz", False),
        ("app", "0.1.0", "sub/app-0.1.0.tgz", "sub/app-0.1.0.tgz", True),
    ]
    entries, expected = {}, {}
    for name, version, file, url, with_digest in charts:
        data = chart(name, version)
        open(os.path.join(d, file), "wb").write(data)
        e = {"apiVersion": "v2", "name": name, "version": version, "urls": [url],
             "created": "2026-11-01T10:00:00Z", "description": f"the {name} chart"}
        if with_digest:
            e["digest"] = hashlib.sha256(data).hexdigest()
        if name == "nginx":
            e["deprecated"] = True
        entries.setdefault(name, []).append(e)
        expected[f"{name}-{version}.tgz"] = {"sha256": hashlib.sha256(data).hexdigest(),
                                            "source": f"stable/{file}"}
    bad = chart("bad", "1.0.0")
    open(os.path.join(d, "bad-1.0.0.tgz"), "wb").write(bad)
    entries["bad"] = [{"apiVersion": "v2", "name": "bad", "version": "1.0.0",
                       "urls": ["bad-1.0.0.tgz"], "digest": "0" * 64}]
    entries["evil"] = [{"apiVersion": "v2", "name": "evil", "version": "6.6.6",
                        "urls": ["http://127.0.0.1:9/evil-6.6.6.tgz"]}]
    entries["../escape"] = [{"apiVersion": "v2", "name": "../escape", "version": "1.0.0",
                             "urls": ["escape-1.0.0.tgz"]}]
    # Written as YAML by hand (block style, as `helm repo index` does).
    lines = ["apiVersion: v1", "entries:"]
    for name, versions in entries.items():
        lines.append(f"  {json.dumps(name)}:")
        for e in versions:
            first = True
            for k, v in e.items():
                prefix = "  - " if first else "    "
                first = False
                if isinstance(v, list):
                    lines.append(f"{prefix}{k}:")
                    lines += [f"    - {json.dumps(x)}" for x in v]
                elif isinstance(v, bool):
                    lines.append(f"{prefix}{k}: {'true' if v else 'false'}")
                else:
                    lines.append(f"{prefix}{k}: {json.dumps(v)}")
    lines.append('generated: "2026-11-01T10:00:00Z"')
    open(os.path.join(d, "index.yaml"), "w").write("\n".join(lines) + "\n")
    json.dump(expected, open(os.path.join(d, "expected.json"), "w"))


main()
