#!/usr/bin/env python3
"""Pushes a GitOps source artifact to a registry (docker-registry) by the distribution API, with
the media types the clients use, and prints its manifest digest.

  push_artifact.py PORT REPO TAG --kind argocd|flux|helm --image REF [--image REF ...]

argocd: an OCI manifest with one application/vnd.oci.image.layer.v1.tar+gzip layer (what Argo CD
        3.1+ takes for `oci://` sources), empty config; a Deployment running the images.
flux:   the layer type application/vnd.cncf.flux.content.v1.tar+gzip, config
        application/vnd.cncf.flux.config.v1+json (what `flux push artifact` makes).
helm:   a chart: config application/vnd.cncf.helm.config.v1+json, layer
        application/vnd.cncf.helm.chart.content.v1.tar+gzip; the first image is the chart's
        values.yaml image (repository and tag), the others literal in a template.
Tags with '_' are pushed verbatim.
"""
import argparse, gzip, hashlib, http.client, io, json, sys, tarfile


def tgz(files):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def deployment(tag, images):
    lines = ["apiVersion: apps/v1", "kind: Deployment", f"metadata: {{name: shop, labels: {{version: '{tag}'}}}}",
             "spec:", "  template:", "    spec:", "      containers:"]
    lines += [f"        - {{name: c{i}, image: '{img}'}}" for i, img in enumerate(images)]
    return ("\n".join(lines) + "\n").encode()


def chart(tag, images):
    repo, _, itag = images[0].rpartition(":")
    files = {
        "shop/Chart.yaml": f"apiVersion: v2\nname: shop\nversion: {tag.replace('_', '+')}\nappVersion: '{itag}'\n".encode(),
        "shop/values.yaml": f"image:\n  repository: {repo}\n  tag: ''\n".encode(),
        "shop/templates/deployment.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: shop}\nspec:\n  template:\n    spec:\n"
            "      containers:\n        - name: app\n"
            "          image: \"{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}\"\n"
            + "".join(f"        - name: x{i}\n          image: {img}\n" for i, img in enumerate(images[1:]))).encode(),
    }
    return files


class Registry:
    def __init__(self, port, repo):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.repo = repo

    def send(self, method, path, want, what, body=None, headers=None):
        """One request; exits naming `what` unless the status is `want`. Returns the response."""
        self.c.request(method, path, body=body, headers=headers or {})
        r = self.c.getresponse()
        r.read()
        if r.status != want:
            sys.exit(f"{what}: HTTP {r.status}")
        return r

    def blob(self, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        loc = self.send("POST", f"/v2/{self.repo}/blobs/uploads/", 202, "upload start").getheader("Location")
        if loc.startswith("http"):
            loc = "/" + loc.split("/", 3)[3]
        sep = "&" if "?" in loc else "?"
        self.send("PUT", f"{loc}{sep}digest={digest}", 201, f"upload {digest}", data,
                  {"Content-Type": "application/octet-stream"})
        return {"digest": digest, "size": len(data)}

    def manifest(self, tag, body):
        r = self.send("PUT", f"/v2/{self.repo}/manifests/{tag}", 201, f"manifest {tag}", body,
                      {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        return r.getheader("Docker-Content-Digest")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("repo")
    ap.add_argument("tag")
    ap.add_argument("--kind", choices=["argocd", "flux", "helm"], required=True)
    ap.add_argument("--image", action="append", required=True)
    a = ap.parse_args()
    reg = Registry(a.port, a.repo)
    if a.kind == "helm":
        content = tgz(chart(a.tag, a.image))
        config = json.dumps({"name": "shop", "version": a.tag.replace("_", "+"), "apiVersion": "v2"}).encode()
        config_type, layer_type = "application/vnd.cncf.helm.config.v1+json", "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
    else:
        content = tgz({"shop/deployment.yaml": deployment(a.tag, a.image),
                       "shop/service.yaml": b"apiVersion: v1\nkind: Service\nmetadata: {name: shop}\n"})
        if a.kind == "argocd":
            config, config_type = b"{}", "application/vnd.oci.empty.v1+json"
            layer_type = "application/vnd.oci.image.layer.v1.tar+gzip"
        else:
            config, config_type = b"{}", "application/vnd.cncf.flux.config.v1+json"
            layer_type = "application/vnd.cncf.flux.content.v1.tar+gzip"
    cfg = dict(reg.blob(config), mediaType=config_type)
    layer = dict(reg.blob(content), mediaType=layer_type,
                 annotations={"org.opencontainers.image.title": "shop.tgz"})
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": cfg, "layers": [layer],
                "annotations": {"org.opencontainers.image.version": a.tag}}
    print(reg.manifest(a.tag, json.dumps(manifest).encode()))


if __name__ == "__main__":
    main()
