#!/usr/bin/env bash
# `bundle create --with-referrers`: an image's signature and SBOM (OCI 1.1 manifests whose
# `subject` is the image), pushed by hand to a docker-registry 2.8 (no referrers API) under the
# cosign tag sha256-<hex>.sig and the referrers-tag-schema index sha256-<hex>, travel with the
# release. Imported into a fresh Outpost with the upstream stopped, the referrers API lists them
# (and filters by artifactType), both tags resolve byte-identical, their blobs are served and the
# image pulls; a digest nobody refers to is a 404. With the upstream back (its 404 means "no
# referrers API") the imported referrers are still served. A bundle made without the flag carries
# none.
source "$(dirname "$0")/lib.sh"

start_registry up
U=http://127.0.0.1:$up_PORT
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 0.5 --layers 1 >/dev/null
push_image "$T/layout" v1 "$up_PORT" test/app
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$up_PORT/test/app:v1" "dir:$T/direct-app:v1"

OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
OCI_INDEX=application/vnd.oci.image.index.v1+json
SPDX=application/spdx+json
OCI_CONFIG=application/vnd.oci.image.config.v1+json

sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
header() { tr -d '\r' | awk -F': ' -v h="$1" 'tolower($1)==h {print $2}'; }

# The subject: test/app:v1's manifest as the upstream stores it.
curl -sf -H "Accept: $OCI_MANIFEST" "$U/v2/test/app/manifests/v1" -o "$T/subject.json" || die "no test/app:v1 upstream"
S=$(sha "$T/subject.json")
S_SIZE=$(stat -c %s "$T/subject.json")
HEX=${S#sha256:}
log "subject $S ($S_SIZE bytes)"

# put_blob FILE: a monolithic upload by curl (POST, then PUT to the Location with ?digest=).
put_blob() {
  local d loc sep code
  d=$(sha "$1")
  loc=$(curl -s -o /dev/null -D- -X POST "$U/v2/test/app/blobs/uploads/" | header location)
  [[ -n $loc ]] || die "no upload location for $1"
  [[ $loc == http* ]] || loc=$U$loc
  [[ $loc == *\?* ]] && sep='&' || sep='?'
  code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/octet-stream' \
    --data-binary @"$1" "$loc${sep}digest=$d")
  [[ $code == 201 ]] || die "blob upload of $1 answered HTTP $code"
}
# put_manifest FILE MEDIA_TYPE REFERENCE: the registry must keep the bytes as sent.
put_manifest() {
  local d got
  d=$(sha "$1")
  got=$(curl -s -D- -o /dev/null -X PUT -H "Content-Type: $2" --data-binary @"$1" "$U/v2/test/app/manifests/$3" |
    tee "$T/put-$(basename "$1").headers" | header docker-content-digest)
  [[ $got == "$d" ]] || die "manifest PUT of $1 to $3: $(head -1 "$T/put-$(basename "$1").headers") digest '$got', expected $d"
}

log "referrers pushed by hand with curl: a cosign-style signature and an SPDX SBOM naming $S"
printf '{}' >"$T/empty.json"
EMPTY=$(sha "$T/empty.json")
printf '{"critical":{"identity":{"docker-reference":"127.0.0.1/test/app"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' \
  "$S" >"$T/simplesigning.json"
SIG_LAYER=$(sha "$T/simplesigning.json")
printf '{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"test/app","dataLicense":"CC0-1.0","packages":[]}' >"$T/sbom.spdx.json"
SBOM_LAYER=$(sha "$T/sbom.spdx.json")
for f in empty.json simplesigning.json sbom.spdx.json; do put_blob "$T/$f"; done
subject_desc="{\"mediaType\":\"$OCI_MANIFEST\",\"digest\":\"$S\",\"size\":$S_SIZE}"

# The signature has no artifactType: its referrer artifactType is its config's mediaType.
printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"%s","size":%d,"annotations":{"dev.cosignproject.cosign/signature":"MEUCIQDfakesignature=="}}],"subject":%s}' \
  "$OCI_MANIFEST" "$OCI_CONFIG" "$EMPTY" "$SIG_LAYER" "$(stat -c %s "$T/simplesigning.json")" "$subject_desc" >"$T/sig.json"
SIG=$(sha "$T/sig.json")
put_manifest "$T/sig.json" "$OCI_MANIFEST" "sha256-$HEX.sig"

printf '{"schemaVersion":2,"mediaType":"%s","artifactType":"%s","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"%s","digest":"%s","size":%d}],"subject":%s,"annotations":{"org.opencontainers.image.created":"2026-01-01T00:00:00Z","org.example.sbom.tool":"by-hand"}}' \
  "$OCI_MANIFEST" "$SPDX" "$EMPTY" "$SPDX" "$SBOM_LAYER" "$(stat -c %s "$T/sbom.spdx.json")" "$subject_desc" >"$T/sbom.json"
SBOM=$(sha "$T/sbom.json")
put_manifest "$T/sbom.json" "$OCI_MANIFEST" "$SBOM"

# The referrers tag schema: an index at sha256-<hex> listing the referrers.
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[{"mediaType":"%s","digest":"%s","size":%d,"artifactType":"%s"},{"mediaType":"%s","digest":"%s","size":%d,"artifactType":"%s"}]}' \
  "$OCI_INDEX" "$OCI_MANIFEST" "$SBOM" "$(stat -c %s "$T/sbom.json")" "$SPDX" \
  "$OCI_MANIFEST" "$SIG" "$(stat -c %s "$T/sig.json")" "$OCI_CONFIG" >"$T/tagindex.json"
IDX=$(sha "$T/tagindex.json")
put_manifest "$T/tagindex.json" "$OCI_INDEX" "sha256-$HEX"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$U/v2/test/app/referrers/$S") == 404 ]] ||
  die "the upstream has a referrers API: this test means one without"
log "signature $SIG, SBOM $SBOM, tag index $IDX"

write_outpost_config "$T/create.yaml" "$(free_port)" "$T/create-data" upstream.test "$U"

log "bundle create --with-referrers"
"$OUTPOST_BIN" bundle create --config "$T/create.yaml" --name shop --version v1 \
  --image upstream.test/test/app:v1 --with-referrers -o "$T/shop.tar" 2>"$T/create.log" ||
  die "create: $(cat "$T/create.log")"
grep -q '^wrote .*, 2 referrers$' "$T/create.log" || die "summary does not say 2 referrers: $(tail -1 "$T/create.log")"
tar -xOf "$T/shop.tar" outpost-bundle.json >"$T/shop.json"

python3 - "$T/shop.json" "$S" "$SIG" "$SBOM" "$IDX" "$HEX" "$EMPTY" "$SIG_LAYER" "$SBOM_LAYER" \
  "$(stat -c %s "$T/sig.json")" "$(stat -c %s "$T/sbom.json")" <<'PY' || die "outpost-bundle.json: $(cat "$T/shop.json")"
import json, sys
path, s, sig, sbom, idx, hexd, empty, sig_layer, sbom_layer, sig_size, sbom_size = sys.argv[1:]
b = json.load(open(path))
def check(cond, what):
    if not cond:
        sys.exit("outpost-bundle.json: " + what)
check(len(b["images"]) == 1, "one image")
img = b["images"][0]
check(img["digest"] == s, "image digest is the subject")
refs = {r["digest"]: r for r in img.get("referrers", [])}
check(len(img.get("referrers", [])) == 2 and set(refs) == {sig, sbom},
      f"referrers are the signature and the SBOM: {img.get('referrers')}")
for r in refs.values():
    check(r["subject"] == s, f"referrer {r['digest']} names subject {r['subject']}")
    check(r["mediaType"] == "application/vnd.oci.image.manifest.v1+json", f"mediaType of {r['digest']}")
check(refs[sig]["artifactType"] == "application/vnd.oci.image.config.v1+json",
      f"signature artifactType (its config mediaType): {refs[sig]}")
check(refs[sbom]["artifactType"] == "application/spdx+json", f"SBOM artifactType: {refs[sbom]}")
check(refs[sig]["size"] == int(sig_size) and refs[sbom]["size"] == int(sbom_size), "referrer sizes")
check(refs[sbom].get("annotations") == {"org.opencontainers.image.created": "2026-01-01T00:00:00Z",
                                        "org.example.sbom.tool": "by-hand"},
      f"SBOM annotations kept: {refs[sbom]}")
tags = {t["tag"]: t["digest"] for t in img.get("referrerTags", [])}
check(len(img.get("referrerTags", [])) == 2 and tags == {"sha256-" + hexd: idx, "sha256-" + hexd + ".sig": sig},
      f"referrer tags are sha256-<hex> -> index and sha256-<hex>.sig -> signature: {img.get('referrerTags')}")
blobs = {x["digest"]: x for x in b["blobs"]}
for d, what in [(sig, "signature"), (sbom, "SBOM"), (idx, "tag index"), (empty, "empty config"),
                (sig_layer, "signature layer"), (sbom_layer, "SBOM layer")]:
    check(d in blobs and blobs[d].get("inBundle", True) is not False, f"the {what} {d} is carried")
PY
for d in "$SIG" "$SBOM" "$IDX" "$SIG_LAYER" "$SBOM_LAYER" "$EMPTY"; do
  tar -tf "$T/shop.tar" | grep_q -x "blobs/sha256/${d#sha256:}" || die "the tar does not carry $d"
done

log "bundle create without --with-referrers carries none"
"$OUTPOST_BIN" bundle create --config "$T/create.yaml" --name plain --version v1 \
  --image upstream.test/test/app:v1 -o "$T/plain.tar" 2>"$T/create-plain.log" ||
  die "create plain: $(cat "$T/create-plain.log")"
grep '^wrote ' "$T/create-plain.log" | grep_q referrers && die "plain summary mentions referrers: $(tail -1 "$T/create-plain.log")"
tar -xOf "$T/plain.tar" outpost-bundle.json >"$T/plain.json"
python3 - "$T/plain.json" "$SIG" "$SBOM" "$IDX" <<'PY' || die "plain outpost-bundle.json: $(cat "$T/plain.json")"
import json, sys
b = json.load(open(sys.argv[1]))
for img in b["images"]:
    if "referrers" in img or "referrerTags" in img:
        sys.exit(f"image {img['ref']} has referrers or referrerTags keys")
held = {x["digest"] for x in b["blobs"]}
if held & set(sys.argv[2:]):
    sys.exit(f"carries referrer manifests {held & set(sys.argv[2:])}")
PY
grep -q '"referrers"' "$T/plain.json" && die "plain outpost-bundle.json has a referrers key"

log "upstream stopped; the bundle imported into a fresh Outpost"
stop_pid "$up_PID"
OP=$(free_port)
write_outpost_config "$T/serve.yaml" "$OP" "$T/data" upstream.test "$U"
"$OUTPOST_BIN" bundle import --config "$T/serve.yaml" "$T/shop.tar" 2>"$T/import.log" || die "import: $(cat "$T/import.log")"
start_outpost op "$T/serve.yaml"
O=http://127.0.0.1:$OP/v2/upstream.test/test/app

log "offline: the referrers API lists the signature and the SBOM"
code=$(curl -s -D "$T/referrers.headers" -o "$T/referrers.json" -w '%{http_code}' "$O/referrers/$S")
[[ $code == 200 ]] || die "referrers of $S: HTTP $code $(cat "$T/referrers.json")"
[[ $(header content-type <"$T/referrers.headers") == "$OCI_INDEX" ]] ||
  die "referrers Content-Type: $(header content-type <"$T/referrers.headers")"
# The filter as clients send it: percent-encoded ('+' unencoded in a query is a space).
curl -sf -G --data-urlencode "artifactType=$SPDX" "$O/referrers/$S" -D "$T/filtered.headers" -o "$T/filtered.json" ||
  die "referrers ?artifactType failed"
[[ $(header oci-filters-applied <"$T/filtered.headers") == artifactType ]] ||
  die "no OCI-Filters-Applied: artifactType header"
curl -sf -G --data-urlencode "artifactType=$OCI_CONFIG" "$O/referrers/$S" -o "$T/filtered-sig.json" ||
  die "referrers ?artifactType (sig) failed"
python3 - "$T/referrers.json" "$T/filtered.json" "$T/filtered-sig.json" "$SIG" "$SBOM" \
  "$(stat -c %s "$T/sig.json")" "$(stat -c %s "$T/sbom.json")" <<'PY' || die "referrers index: $(cat "$T/referrers.json")"
import json, sys
full, spdx, sigonly, sig, sbom, sig_size, sbom_size = sys.argv[1:]
idx = json.load(open(full))
def check(cond, what):
    if not cond:
        sys.exit(what)
check(idx.get("schemaVersion") == 2 and idx.get("mediaType") == "application/vnd.oci.image.index.v1+json",
      f"not an OCI index: {idx}")
m = {d["digest"]: d for d in idx["manifests"]}
check(len(idx["manifests"]) == 2 and set(m) == {sig, sbom}, f"lists {list(m)}, expected {sig} and {sbom}")
check(m[sig].get("artifactType") == "application/vnd.oci.image.config.v1+json", f"signature: {m[sig]}")
check(m[sbom].get("artifactType") == "application/spdx+json", f"SBOM: {m[sbom]}")
check(m[sig]["size"] == int(sig_size) and m[sbom]["size"] == int(sbom_size), "sizes")
for d in m.values():
    check(d["mediaType"] == "application/vnd.oci.image.manifest.v1+json", f"mediaType: {d}")
check(m[sbom].get("annotations", {}).get("org.example.sbom.tool") == "by-hand", f"SBOM annotations: {m[sbom]}")
f = json.load(open(spdx))
check([d["digest"] for d in f["manifests"]] == [sbom], f"?artifactType=application/spdx+json lists {f['manifests']}")
f = json.load(open(sigonly))
check([d["digest"] for d in f["manifests"]] == [sig], f"?artifactType=<config type> lists {f['manifests']}")
PY

log "offline: the referrer tags resolve byte-identical"
for tag in "sha256-$HEX.sig:$T/sig.json" "sha256-$HEX:$T/tagindex.json"; do
  skopeo_ inspect --raw --tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/app:${tag%%:*}" >"$T/got" 2>"$T/inspect.log" ||
    die "skopeo inspect ${tag%%:*}: $(cat "$T/inspect.log")"
  [[ $(sha "$T/got") == "$(sha "${tag#*:}")" ]] || die "${tag%%:*} differs: $(cat "$T/got")"
done
for d in "$SBOM" "$SIG"; do  # and the referrers by digest
  curl -sf -H "Accept: $OCI_MANIFEST" "$O/manifests/$d" -o "$T/got" || die "manifest $d offline"
  [[ $(sha "$T/got") == "$d" ]] || die "manifest $d differs"
done

log "offline: the referrers' blobs are served byte-identical"
for f in simplesigning.json sbom.spdx.json empty.json; do
  curl -sf "$O/blobs/$(sha "$T/$f")" -o "$T/got" || die "blob of $f offline"
  cmp -s "$T/got" "$T/$f" || die "blob of $f differs"
done

log "offline: the image pulls"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/app:v1" "dir:$T/offline-app:v1" ||
  die "offline pull of test/app:v1"
diff -r "$T/direct-app:v1" "$T/offline-app:v1" >/dev/null || die "offline test/app:v1 differs from upstream"

log "offline: a digest nobody refers to has no referrers (404)"
NOBODY=sha256:$(printf 'nobody refers to this' | sha256sum | cut -d' ' -f1)
for d in "$NOBODY" "$SIG"; do
  code=$(curl -s -o "$T/none.json" -w '%{http_code}' "$O/referrers/$d")
  [[ $code == 404 ]] || die "referrers of $d: HTTP $code $(cat "$T/none.json")"
done

log "the bundle made without --with-referrers brings neither referrers nor their tags"
OP2=$(free_port)
write_outpost_config "$T/plain.yaml" "$OP2" "$T/plain-data" upstream.test "$U"
"$OUTPOST_BIN" bundle import --config "$T/plain.yaml" "$T/plain.tar" 2>"$T/import-plain.log" ||
  die "import plain: $(cat "$T/import-plain.log")"
start_outpost op2 "$T/plain.yaml"
O2=http://127.0.0.1:$OP2/v2/upstream.test/test/app
curl -sf -H "Accept: $OCI_MANIFEST" "$O2/manifests/v1" -o /dev/null || die "plain: test/app:v1 not served offline"
for p in "referrers/$S" "manifests/sha256-$HEX.sig" "manifests/sha256-$HEX"; do
  code=$(curl -s -o "$T/none.json" -w '%{http_code}' "$O2/$p")
  [[ $code == 404 ]] || die "plain: $p answered HTTP $code $(cat "$T/none.json")"
done
stop_pid "$op2_PID"

log "upstream back (it has no referrers API: 404): the imported referrers are still served"
docker-registry serve "$T/up/config.yml" >>"$T/up.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 200); do
  [[ $(metric 'outpost_upstream_up{upstream="upstream.test"}' "$OP") == 1 ]] && break
  sleep 0.1
done
[[ $(metric 'outpost_upstream_up{upstream="upstream.test"}' "$OP") == 1 ]] || die "breaker never closed"
asked=$(upstream_gets "$T/up.log" "/v2/test/app/referrers/$S")
curl -sf "$O/referrers/$S" -o "$T/online.json" || die "referrers of $S with the upstream back"
[[ $(upstream_gets "$T/up.log" "/v2/test/app/referrers/$S") -gt $asked ]] || die "the upstream was not asked"
cmp -s "$T/online.json" "$T/referrers.json" || die "referrers with the upstream back: $(cat "$T/online.json")"
code=$(curl -s -o "$T/none.json" -w '%{http_code}' "$O/referrers/$NOBODY")
[[ $code == 404 ]] || die "referrers of $NOBODY with the upstream back: HTTP $code $(cat "$T/none.json")"
stop_pid "$op_PID"
"$OUTPOST_BIN" fsck --data-dir "$T/data" >"$T/fsck" 2>&1 || die "fsck after import: $(cat "$T/fsck")"
log "ok"
