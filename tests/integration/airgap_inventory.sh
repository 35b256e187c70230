#!/usr/bin/env bash
# Before a site goes dark: what does its Outpost hold? A site Outpost A pulls test/app3:v1 through
# its mirror and has the signed release shop v1 (app1:v1, app2:multi) uploaded into it; then the
# upstream stops. GET /api/v1/images (and `outpost images --server`, as a table or --json) lists
# exactly those three tags, with the upstream's digests, whole here, the release that pins each.
# `outpost images --check --images-from` names the one image of some manifests A does not hold
# (and where it is used) and exits 1; without it, 0. `outpost bundle export` writes shop v1 back
# to a file with the same JSON and signature; a fresh Outpost B imports it and serves the images
# offline as A does. Exporting a release A does not hold fails, saying so, and writes nothing.
source "$(dirname "$0")/lib.sh"

start_registry up
shop_images 2 1  # test/app1:v1 (2 x 2 MB) and test/app2:multi (linux/amd64, linux/arm64)
python3 "$TOOLS/make_image.py" "$T/layout3" v1 --layer-mb 1 --layers 2 --seed app3 >/dev/null
push_image "$T/layout3" v1 "$up_PORT" test/app3
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$up_PORT/test/app3:v1" "dir:$T/direct-app3:v1"
origin_digest() {  # origin_digest APP:TAG: the manifest digest the origin serves for it
  local d
  d=$(skopeo_ inspect --raw --tls-verify=false "docker://127.0.0.1:$up_PORT/test/$1" | sha256sum) ||
    die "inspect $1 at the origin"
  echo "sha256:${d%% *}"
}
declare -A DIG
for img in app1:v1 app2:multi app3:v1; do DIG[$img]=$(origin_digest "$img"); done
log "origin digests: app1:v1 ${DIG[app1:v1]}, app2:multi ${DIG[app2:multi]}, app3:v1 ${DIG[app3:v1]}"

A_PORT_=$(free_port)
A=http://127.0.0.1:$A_PORT_
write_outpost_config "$T/a.yaml" "$A_PORT_" "$T/a-data" upstream.test "http://127.0.0.1:$up_PORT"
trust_release_key "$T/a.yaml"
write_outpost_config "$T/create.yaml" "$(free_port)" "$T/create-data" upstream.test "http://127.0.0.1:$up_PORT"
"$OUTPOST_BIN" bundle create --config "$T/create.yaml" --name shop --version v1 \
  --image upstream.test/test/app1:v1 --image upstream.test/test/app2:multi --sign-key "$T/release.key" \
  -o "$T/shop.tar" 2>"$T/create.log" || die "bundle create: $(cat "$T/create.log")"

log "site A: app3:v1 pulled through the mirror, shop v1 uploaded into it"
start_outpost a "$T/a.yaml"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$a_PORT/upstream.test/test/app3:v1" "dir:$T/a-app3:v1" ||
  die "pull of app3:v1 through A"
diff -r "$T/direct-app3:v1" "$T/a-app3:v1" >/dev/null || die "app3:v1 through A differs from the origin's"
"$OUTPOST_BIN" bundle import --server "$A" "$T/shop.tar" 2>"$T/import-a.log" ||
  die "import into A: $(tail -5 "$T/import-a.log")"
grep -q 'release shop v1 is ready' "$T/import-a.log" || die "import into A not reported ready: $(tail -3 "$T/import-a.log")"
stop_pid "$up_PID"  # the link is cut
log "the origin is stopped"

log "GET /api/v1/images: exactly the three tags, the origin's digests, whole here"
curl -sf "$A/api/v1/images" >"$T/inventory.json" || die "GET /api/v1/images failed"
python3 - "$T/inventory.json" "${DIG[app1:v1]}" "${DIG[app2:multi]}" "${DIG[app3:v1]}" <<'PY' || die "inventory: $(cat "$T/inventory.json")"
import json, sys
inv = json.load(open(sys.argv[1]))
want = {"test/app1:v1": sys.argv[2], "test/app2:multi": sys.argv[3], "test/app3:v1": sys.argv[4]}
errors = []
def err(msg): errors.append(msg)
tags = {}
for u in inv["upstreams"]:
    for r in u["repositories"]:
        for t in r["tags"]:
            key = (u["name"], f'{r["name"]}:{t["tag"]}')
            if key in tags: err(f"{key} is listed twice")
            tags[key] = t
others = sorted(f"{u}/{k}" for u, k in tags if u != "upstream.test")
if others:  # e.g. a release's own artifact, outpost.releases/shop:v1: not an image a pod pulls
    err(f"tags other than upstream.test's are listed: {others}")
got = sorted(k for u, k in tags if u == "upstream.test")
if got != sorted(want):
    err(f"upstream.test's tags listed are {got}, not exactly {sorted(want)}")
for k, digest in want.items():
    t = tags.get(("upstream.test", k))
    if t is None: continue
    if t["digest"] != digest: err(f"{k}: digest {t['digest']}, the origin's is {digest}")
    if t["local"] is not True: err(f"{k}: local is {t['local']!r}")
    if t["blobs_missing"] != 0: err(f"{k}: blobs_missing {t['blobs_missing']}")
    if not (isinstance(t["size"], int) and t["size"] > 0): err(f"{k}: size {t['size']!r}")
    if not (isinstance(t["blobs"], int) and t["blobs"] >= 3): err(f"{k}: blobs {t['blobs']!r}")
    if k == "test/app3:v1":
        if t["releases"] != []: err(f"{k}: releases {t['releases']}, pinned by no release")
        if not t["last_pulled"]: err(f"{k}: last_pulled is empty though it was pulled")
        if not t["checked_at"]: err(f"{k}: checked_at is empty though it was resolved upstream")
    else:
        if t["releases"] != ["shop v1"]: err(f"{k}: releases {t['releases']}, not ['shop v1']")
    if k == "test/app2:multi":
        if "index" not in t["media_type"]: err(f"{k}: media_type {t['media_type']!r} is not an index")
        if "linux/amd64" not in t["platforms"]: err(f"{k}: platforms {t['platforms']} lack linux/amd64")
    elif "index" in t["media_type"] or not t["media_type"]:
        err(f"{k}: media_type {t['media_type']!r}")
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
PY

log "outpost images --server: a line per tag and the summary; --json is the API's JSON"
"$OUTPOST_BIN" images --server "$A" >"$T/images.txt" 2>"$T/images.err" || die "images --server: $(cat "$T/images.err")"
for img in app1:v1 app2:multi app3:v1; do
  grep -Eq "^upstream\.test/test/$img +${DIG[$img]:0:19} .* yes " "$T/images.txt" ||
    die "no line (digest ${DIG[$img]:0:19}, local yes) for $img: $(cat "$T/images.txt")"
done
grep -Eq '^upstream\.test/test/app1:v1 .* shop v1$' "$T/images.txt" || die "app1:v1 is not shown pinned by shop v1: $(cat "$T/images.txt")"
grep -Eq '^upstream\.test/test/app3:v1 .* -$' "$T/images.txt" || die "app3:v1 is shown pinned: $(cat "$T/images.txt")"
[[ $(grep -c '^upstream\.test/' "$T/images.txt") == 3 ]] || die "not exactly 3 tag lines: $(cat "$T/images.txt")"
grep -qx '3 image tags, 3 held whole here' "$T/images.txt" || die "no summary: $(cat "$T/images.txt")"
"$OUTPOST_BIN" images --server "$A" --json >"$T/images.json" 2>"$T/images-json.err" ||
  die "images --server --json: $(cat "$T/images-json.err")"
python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' \
  "$T/images.json" "$T/inventory.json" || die "--json differs from the API: $(cat "$T/images.json")"

log "outpost images --check: app4:v1 (never pulled, in no release) is missing, the others held"
deploy() {  # deploy NAME IMAGE
  printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: %s}\nspec:\n  template:\n    spec:\n      containers:\n        - {name: c, image: "%s"}\n' "$1" "$2"
}
mkdir -p "$T/manifests/all" "$T/manifests/held"
deploy app1 upstream.test/test/app1:v1 >"$T/manifests/all/app1.yaml"
deploy app3 upstream.test/test/app3:v1 >"$T/manifests/all/app3.yaml"
deploy app4 upstream.test/test/app4:v1 >"$T/manifests/all/app4.yaml"
cp "$T/manifests/all/app1.yaml" "$T/manifests/all/app3.yaml" "$T/manifests/held/"
rc=0
"$OUTPOST_BIN" images --server "$A" --check --images-from "$T/manifests/all" >"$T/check.txt" 2>"$T/check.err" || rc=$?
[[ $rc == 1 ]] || die "--check with app4 missing exited $rc, not 1: $(cat "$T/check.txt" "$T/check.err")"
grep -Eq "^MISSING upstream\.test/test/app4:v1  \(.+\)  used at .*app4\.yaml:[0-9]+$" "$T/check.txt" ||
  die "app4:v1 is not reported missing with where it is used: $(cat "$T/check.txt")"
[[ $(grep -c '^MISSING' "$T/check.txt") == 1 ]] || die "not only app4 is missing: $(cat "$T/check.txt")"
for img in app1:v1 app3:v1; do
  grep -Eq "^held    upstream\.test/test/$img  \(.+\)$" "$T/check.txt" || die "$img is not reported held: $(cat "$T/check.txt")"
done
[[ $(wc -l <"$T/check.txt") == 3 ]] || die "not one line per image: $(cat "$T/check.txt")"
grep -q '3 images in the manifests: 2 held here, 1 missing' "$T/check.err" || die "no summary: $(cat "$T/check.err")"
rc=0
"$OUTPOST_BIN" images --server "$A" --check --images-from "$T/manifests/held" >"$T/check2.txt" 2>"$T/check2.err" || rc=$?
[[ $rc == 0 ]] || die "--check with every image held exited $rc: $(cat "$T/check2.txt" "$T/check2.err")"
[[ $(grep -c '^held    ' "$T/check2.txt") == 2 && $(wc -l <"$T/check2.txt") == 2 ]] ||
  die "not two held lines: $(cat "$T/check2.txt")"
grep -q '2 images in the manifests: 2 held here, 0 missing' "$T/check2.err" || die "no summary: $(cat "$T/check2.err")"

log "bundle export from A: the same JSON and signature as the file imported"
"$OUTPOST_BIN" bundle export --server "$A" --name shop --version v1 -o "$T/exported.tar" 2>"$T/export.log" ||
  die "export: $(tail -5 "$T/export.log")"
[[ -f $T/exported.tar && ! -e $T/exported.tar.part && ! -e $T/exported.tar.file ]] ||
  die "export left $(ls "$T" | grep exported)"
for f in outpost-bundle.json outpost-bundle.json.sig; do
  cmp -s <(tar -xOf "$T/shop.tar" "$f") <(tar -xOf "$T/exported.tar" "$f") || die "$f differs in the export"
done
diff <(tar -tf "$T/shop.tar" | sort) <(tar -tf "$T/exported.tar" | sort) >"$T/entries.diff" ||
  die "the export's entries differ from the original's: $(cat "$T/entries.diff")"

log "a fresh Outpost B (same trust key, no upstream) imports the export and serves it as A does"
B_PORT_=$(free_port)
B=http://127.0.0.1:$B_PORT_
write_outpost_config "$T/b.yaml" "$B_PORT_" "$T/b-data" upstream.test "http://127.0.0.1:$up_PORT"
printf 'bundle:\n  trust_keys: [%s]\n' "$T/release.pub" >>"$T/b.yaml"
start_outpost b "$T/b.yaml"
"$OUTPOST_BIN" bundle import --server "$B" "$T/exported.tar" 2>"$T/import-b.log" ||
  die "import of the export into B: $(tail -5 "$T/import-b.log")"
grep -q 'release shop v1 is ready' "$T/import-b.log" || die "import into B not reported ready: $(tail -3 "$T/import-b.log")"
served_digest() {  # served_digest PORT APP:TAG
  local d
  d=$(skopeo_ inspect --raw --tls-verify=false "docker://127.0.0.1:$1/upstream.test/test/$2" | sha256sum) ||
    die "inspect $2 at port $1"
  echo "sha256:${d%% *}"
}
for img in app1:v1 app2:multi; do
  da=$(served_digest "$a_PORT" "$img")
  db=$(served_digest "$b_PORT" "$img")
  [[ $da == "${DIG[$img]}" ]] || die "A serves $img as $da, the origin as ${DIG[$img]}"
  [[ $db == "$da" ]] || die "B serves $img as $db, A as $da"
  for s in a b; do
    port=${s}_PORT
    skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:${!port}/upstream.test/test/$img" "dir:$T/$s-$img" ||
      die "offline pull of $img from $s"
    diff -r "$T/direct-$img" "$T/$s-$img" >/dev/null || die "$img from $s differs from the origin's"
  done
done

log "export of a release A does not hold: refused, nothing written"
rc=0
"$OUTPOST_BIN" bundle export --server "$A" --name shop --version v9 -o "$T/v9.tar" 2>"$T/export-v9.log" || rc=$?
[[ $rc != 0 ]] || die "export of shop v9 succeeded: $(cat "$T/export-v9.log")"
grep -q 'holds no release shop v9' "$T/export-v9.log" || die "the refusal does not say why: $(cat "$T/export-v9.log")"
[[ ! -e $T/v9.tar && ! -e $T/v9.tar.part && ! -e $T/v9.tar.file ]] || die "export of v9 left $(ls "$T" | grep v9)"

stop_pid "$a_PID"
stop_pid "$b_PID"
for d in a-data b-data; do
  "$OUTPOST_BIN" fsck --data-dir "$T/$d" >"$T/fsck-$d" || die "fsck $d: $(cat "$T/fsck-$d")"
done
log "ok"
