#!/usr/bin/env python3
"""Builds test images as OCI image layouts (no network, no daemon).

  make_image.py DIR TAG [--layer-mb N] [--layers K] [--platforms linux/amd64,linux/arm64] [--seed S]

One platform gives an image manifest; several give an image index of per-platform manifests.
Layers are uncompressed tars of pseudo-random bytes, so each (seed, platform, layer) is unique.
"""
import argparse, hashlib, io, json, os, random, tarfile


def put_blob(layout, data):
    d = hashlib.sha256(data).hexdigest()
    path = os.path.join(layout, "blobs", "sha256", d)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
    return "sha256:" + d, len(data)


def layer_tar(name, size, rng):
    chunk = 16 << 20
    payload = b"".join(rng.randbytes(min(chunk, size - o)) for o in range(0, size, chunk))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def image(layout, os_, arch, args, rng):
    layers, diff_ids = [], []
    for i in range(args.layers):
        tar = layer_tar(f"data/{arch}-{i}.bin", int(args.layer_mb * 1024 * 1024), rng)
        digest, size = put_blob(layout, tar)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": size})
        diff_ids.append(digest)
    config = json.dumps({"architecture": arch, "os": os_, "rootfs": {"type": "layers", "diff_ids": diff_ids},
                         "config": {"Entrypoint": ["/bin/true"]}}, sort_keys=True).encode()
    cdigest, csize = put_blob(layout, config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": cdigest, "size": csize},
                           "layers": layers}, sort_keys=True).encode()
    mdigest, msize = put_blob(layout, manifest)
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest, "size": msize,
            "platform": {"os": os_, "architecture": arch}}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("tag")
    p.add_argument("--layer-mb", type=float, default=1)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--platforms", default="linux/amd64")
    p.add_argument("--seed", default="outpost")
    args = p.parse_args()
    rng = random.Random(f"{args.seed}/{args.tag}")
    os.makedirs(os.path.join(args.dir, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(args.dir, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    descs = [image(args.dir, *pl.split("/"), args, rng) for pl in args.platforms.split(",")]
    if len(descs) == 1:
        top = dict(descs[0])
        top.pop("platform")
    else:
        idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": descs}, sort_keys=True).encode()
        d, s = put_blob(args.dir, idx)
        top = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": d, "size": s}
    top["annotations"] = {"org.opencontainers.image.ref.name": args.tag}
    index_path = os.path.join(args.dir, "index.json")
    index = {"schemaVersion": 2, "manifests": []}
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
    index["manifests"] = [m for m in index["manifests"]
                          if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != args.tag]
    index["manifests"].append(top)
    with open(index_path, "w") as f:
        json.dump(index, f)
    print(top["digest"])


if __name__ == "__main__":
    main()
