#!/usr/bin/env bash
# Git ref gating. mode images: an upstream commit whose manifests reference an image that is not
# pullable yet stays unadvertised (ls-remote keeps showing the previous commit, status says why)
# until the image is local, then appears. mode bundle: the same with the release bundle named in
# .outpost/release.yaml.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"

start_registry up
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 1 --layers 1 >/dev/null
python3 "$TOOLS/make_image.py" "$T/layout" v2 --layer-mb 1 --layers 1 --seed two >/dev/null
push_image "$T/layout" v1 "$up_PORT" test/app

start_git_upstream
make_manifest_repo org/gated
make_manifest_repo org/bundled
deploy() {  # deploy REPO IMAGE: a commit whose only manifest uses IMAGE
  local w=$T/work/$1
  rm -rf "$w/apps"
  mkdir -p "$w/apps/web"
  printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n        - {name: web, image: "%s"}\n' \
    "$2" >"$w/apps/web/deployment.yaml"
  git -C "$w" add -A
  git -C "$w" commit -qm "deploy $2"
  git -C "$w" push -q origin main
  git -C "$w" rev-parse HEAD
}
c1=$(deploy org/gated upstream.test/test/app:v1)

# bundles for the bundle-mode repo, served by a static web server
mkdir -p "$T/www" "$T/aside"
write_outpost_config "$T/create.yaml" "$(free_port)" "$T/create-data" upstream.test "http://127.0.0.1:$up_PORT"
for v in v1 v3; do
  "$OUTPOST_BIN" bundle create --config "$T/create.yaml" --name shop --version "$v" \
    --image upstream.test/test/app:v1 -o "$T/aside/shop-$v.tar" 2>>"$T/create.log" || die "create $v"
done
cp "$T/aside/shop-v1.tar" "$T/www/"
WP=$(free_port)
(cd "$T/www" && exec python3 -m http.server "$WP" --bind 127.0.0.1 >"$T/web.log" 2>&1) &
PIDS+=("$!")
wait_http "http://127.0.0.1:$WP/"
release() {  # release VERSION: a commit naming that release
  local w=$T/work/org/bundled
  mkdir -p "$w/.outpost"
  printf 'source: http://127.0.0.1:%s/shop-%s.tar\nname: shop\nversion: %s\n' "$WP" "$1" "$1" >"$w/.outpost/release.yaml"
  git -C "$w" add -A
  git -C "$w" commit -qm "release $1"
  git -C "$w" push -q origin main
  git -C "$w" rev-parse HEAD
}
b1=$(release v1)

OP=$(free_port)
write_outpost_config "$T/outpost.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:$up_PORT"
cat >>"$T/outpost.yaml" <<YAML
git:
  sync_interval: 1s
  upstreams:
    - host: git.test
      url: http://127.0.0.1:$GIT_UP_PORT
      insecure: true
  gating:
    - repo: git.test/org/gated
      mode: images
      paths: [apps]
    - repo: git.test/org/bundled
      mode: bundle
bundle:
  allowed_sources: ["http://127.0.0.1:$WP/"]
YAML
start_outpost op "$T/outpost.yaml"
G=http://127.0.0.1:$OP/git/git.test/org/gated.git
B=http://127.0.0.1:$OP/git/git.test/org/bundled.git
head_of() { git ls-remote "$1" refs/heads/main | cut -f1; }
wait_head() {  # wait_head URL SHA: until advertised (bounded)
  for _ in $(seq 150); do [[ $(head_of "$1") == "$2" ]] && return 0; sleep 0.2; done
  return 1
}

log "images mode: the first commit is advertised once its image is local"
wait_head "$G" "$c1" || die "c1 never advertised: $(curl -s "http://127.0.0.1:$OP/api/v1/git/repos")"
c2=$(deploy org/gated upstream.test/test/app:v2)
log "commit $c2 uses app:v2, which upstream does not have: held back"
sleep 3  # several sync intervals
[[ $(head_of "$G") == "$c1" ]] || die "c2 advertised before its image was local"
curl -s "http://127.0.0.1:$OP/api/v1/git/repos" | python3 -c '
import json, sys
r = [r for r in json.load(sys.stdin)["repos"] if r["repo"] == "git.test/org/gated"][0]
p = [p for p in r["pending"] if p["ref"] == "refs/heads/main"]
assert r["gated"] and p and p[0]["commit"] == sys.argv[1] and "app:v2" in p[0]["waiting_for"], r' "$c2" ||
  die "status does not show the pending commit"
[[ $(metric 'outpost_git_gated_refs{repo="git.test/org/gated"}' "$OP") -ge 1 ]] || die "gated metric"
git clone -q "$G" "$T/clone" && [[ $(git -C "$T/clone" rev-parse HEAD) == "$c1" ]] || die "clone is not at c1"
log "app:v2 appears upstream: the commit follows"
push_image "$T/layout" v2 "$up_PORT" test/app
wait_head "$G" "$c2" || die "c2 never advertised after its image appeared"
upstream_layer=$(upstream_layers "$up_PORT" test/app v2 | sed -n 1p)
[[ -f $T/data/blobs/sha256/${upstream_layer:7:2}/${upstream_layer#sha256:} ]] || die "gate did not pull app:v2 into the store"

log "bundle mode: a commit naming a release whose bundle is not published yet is held back"
wait_head "$B" "$b1" || die "b1 never advertised"
b2=$(release v3)
sleep 3
[[ $(head_of "$B") == "$b1" ]] || die "b2 advertised before its release was local"
cp "$T/aside/shop-v3.tar" "$T/www/"
wait_head "$B" "$b2" || die "b2 never advertised after the bundle was published"
"$OUTPOST_BIN" bundle ensure --server "http://127.0.0.1:$OP" --name shop --version v3 --check >/dev/null ||
  die "release v3 not ready"
log "ok"
