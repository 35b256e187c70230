#!/usr/bin/env python3
"""Makes hostile variants of a bundle tar for tests.

  tamper_bundle.py flip IN OUT        flip one byte in the middle of the largest blob
  tamper_bundle.py traversal IN OUT   append an entry named ../x
  tamper_bundle.py absolute IN OUT    append an entry named /tmp/outpost-abs
  tamper_bundle.py symlink IN OUT     append blobs/sha256/<hex> as a symlink
  tamper_bundle.py unlisted IN OUT    append a valid blob the bundle JSON does not list
  tamper_bundle.py editjson IN OUT    change outpost-bundle.json (its signature, if any, is kept)
"""
import hashlib, io, sys, tarfile

mode, src, dst = sys.argv[1:4]
with tarfile.open(src) as tin, tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as tout:
    members = tin.getmembers()
    largest = max((m for m in members if m.name.startswith("blobs/")), key=lambda m: m.size)
    for m in members:
        data = tin.extractfile(m).read()
        if mode == "editjson" and m.name == "outpost-bundle.json":
            data = data.replace(b'"createdAt": "', b'"createdAt": "1')
            m.size = len(data)
        if mode == "flip" and m.name == largest.name:
            b = bytearray(data)
            b[len(b) // 2] ^= 0x01
            data = bytes(b)
        tout.addfile(m, io.BytesIO(data))
    extra = None
    if mode == "traversal":
        extra = tarfile.TarInfo("../x")
    elif mode == "absolute":
        extra = tarfile.TarInfo("/tmp/outpost-abs")
    elif mode == "symlink":
        extra = tarfile.TarInfo("blobs/sha256/" + "0" * 64)
        extra.type = tarfile.SYMTYPE
        extra.linkname = "/etc/passwd"
    elif mode == "unlisted":
        payload = b"not listed"
        extra = tarfile.TarInfo("blobs/sha256/" + hashlib.sha256(payload).hexdigest())
        extra.size = len(payload)
        tout.addfile(extra, io.BytesIO(payload))
        extra = None
    if extra is not None:
        if extra.type == tarfile.REGTYPE:
            extra.size = 3
            tout.addfile(extra, io.BytesIO(b"bad"))
        else:
            tout.addfile(extra)
