#!/usr/bin/env bash
# The operator's view: headless Chromium loads the status page of an Outpost with one Git mirror,
# one ready release, a failed release and its upstreams stopped, and the page shows each of those
# states (screenshot kept in $TEST_ARTIFACTS), and its Images section finds the release's image by
# search on a phone-wide screen; `outpost status --json` and /api/v1/readiness agree
# with the page. A mirror with a synced copy shows "synced" whether or not a sync is running (the
# background retries while its host is down run at any moment): the last step reads the page while
# a sync hangs and finds "synced" with "syncing now".
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"
ARTIFACTS=${TEST_ARTIFACTS:-$T/artifacts}
mkdir -p "$ARTIFACTS"
BROWSER=$(cd "$(dirname "$0")/../tools/browser" && pwd)
[[ -d $BROWSER/node_modules/playwright-core ]] || die "run scripts/install-deps.sh --test (npm packages)"

start_app_upstreams 1
start_proxy gitlink "$GIT_UP_PORT"  # Outpost reaches the Git host through it: it can hang a sync
OP=$(free_port)
# stall_timeout: a sync the link swallows stays running until the test ends.
GIT_UP_PORT=$gitlink_PORT write_git_outpost_config "$T/serve.yaml" "$OP" "$T/data" \
  "sync_interval: 1s" "probe_timeout: 1s" "stall_timeout: 10m"
cat >>"$T/serve.yaml" <<YAML
registry:
  default_upstream: upstream.test
  upstream_timeout: 2s
  breaker_min_backoff: 500ms
  breaker_max_backoff: 2s
  upstreams:
    - name: upstream.test
      url: http://127.0.0.1:$up_PORT
      insecure: true
bundle:
  download_attempts: 2
YAML
"$OUTPOST_BIN" bundle create --config "$T/serve.yaml" --name shop --version v1 \
  --image upstream.test/test/app:v1 -o "$T/v1.tar" 2>"$T/create.log" || die "create: $(cat "$T/create.log")"
"$OUTPOST_BIN" bundle import --config "$T/serve.yaml" "$T/v1.tar" 2>"$T/import.log" || die "import"
start_outpost op "$T/serve.yaml"
API=http://127.0.0.1:$OP
git clone -q "$API/git/git.test/org/app.git" "$T/clone" || die "clone through Outpost"

log "online, with the mirror synced and the release imported: offline-ready"
curl -sf "$API/api/v1/readiness" >"$T/ready.json" || die "not offline-ready: $(curl -s "$API/api/v1/readiness")"
"$OUTPOST_BIN" status --server "$API" >"$T/status-ready.txt" || die "outpost status says not ready"
grep -q OFFLINE-READY "$T/status-ready.txt" || die "$(cat "$T/status-ready.txt")"

log "upstreams stopped; a release whose source is unreachable fails"
stop_pid "$up_PID"
stop_git_upstream
curl -s -o /dev/null "$API/v2/upstream.test/test/other/manifests/v9"  # the registry breaker opens
curl -s -X POST -H 'Content-Type: application/json' \
  -d '{"source":"http://127.0.0.1:9/shop-v2.tar","name":"shop","version":"v2"}' "$API/api/v1/releases" >/dev/null
for _ in $(seq 100); do  # wait for the failure and the git breaker (sync every 1 s)
  curl -s "$API/api/v1/status" >"$T/status.json"
  python3 - "$T/status.json" <<'PY' && break
import json, sys
s = json.load(open(sys.argv[1]))
ups = {(u["kind"], u["name"]): u for u in s["upstreams"]}
rel = {(r["name"], r["version"]): r for r in s["releases"]}
ok = (not ups[("registry", "upstream.test")]["up"] and not ups[("git", "git.test")]["up"]
      and rel.get(("shop", "v2"), {}).get("state") == "failed")
sys.exit(0 if ok else 1)
PY
  sleep 0.2
done
python3 -m json.tool "$T/status.json" >"$ARTIFACTS/status.json"

log "headless Chromium reads the page"
node "$BROWSER/page_check.mjs" "$API/" "$ARTIFACTS/status-page.png" >"$T/page.json" 2>"$T/page.err" ||
  die "page_check: $(cat "$T/page.err")"
cp "$T/page.json" "$ARTIFACTS/status-page.json"
"$OUTPOST_BIN" status --server "$API" --json >"$T/cli.json" && die "status --json exits 0 while not ready"
"$OUTPOST_BIN" status --server "$API" >"$T/cli.txt" || [[ $? == 1 ]] || die "outpost status failed"
code=$(curl -s -o "$T/readiness.json" -w '%{http_code}' "$API/api/v1/readiness")
[[ $code == 503 ]] || die "readiness answered $code while not ready"
python3 - "$T/page.json" "$T/cli.json" "$T/readiness.json" "$T/cli.txt" <<'PY' || die "the page, the CLI and the API disagree"
import json, sys
page, cli, api = (json.load(open(p)) for p in sys.argv[1:4])
text = open(sys.argv[4]).read()
t = page["tests"]
def has(key, *words):
    v = t.get(key)
    assert v is not None, f"page has no {key}: {sorted(t)}"
    v = " ".join(v) if isinstance(v, list) else v
    for w in words:
        assert w in v, f"{key}: {w!r} not in {v!r}"
has("readiness", "Not ready")
has("upstream:registry:upstream.test", "down")
has("upstream:git:git.test", "down")
has("git:git.test/org/app", "synced", "last sync")
has("release:shop:v1", "ready", "blobs local and verified")
has("release:shop:v2", "failed")
has("store", "pinned by releases")
reasons = t["reason"] if isinstance(t["reason"], list) else [t["reason"]]
assert reasons == api["reasons"] == cli["readiness"]["reasons"], (reasons, api, cli["readiness"])
assert any("release shop v2: failed" in r for r in reasons), reasons
assert api["state"] == "not-ready" and cli["readiness"]["state"] == "not-ready"
assert "NOT READY" in text and "shop v2" in text, text
assert not page["console_errors"], page["console_errors"]
assert not page["horizontal_overflow"], "the page overflows a phone-wide screen"
print("page, CLI and API agree:", reasons)
PY
[[ -s $ARTIFACTS/status-page.png ]] || die "no screenshot"

log "the Images section, phone-wide: what the site holds, found by its search box"
node "$BROWSER/page_check.mjs" "$API/" "$ARTIFACTS/status-images.png" --fill '#image-search' 'TEST/app shop' \
  >"$T/page-images.json" 2>"$T/page.err" || die "page_check: $(cat "$T/page.err")"
node "$BROWSER/page_check.mjs" "$API/" "$ARTIFACTS/status-images-none.png" --fill '#image-search' 'no-such-image' \
  >"$T/page-images-none.json" 2>"$T/page.err" || die "page_check: $(cat "$T/page.err")"
python3 - "$T/page-images.json" "$T/page-images-none.json" <<'PY' || die "the Images section is wrong"
import json, sys
hit, none = (json.load(open(p)) for p in sys.argv[1:3])
row = hit["tests"]["image:upstream.test/test/app:v1"]
assert " — held" in row and "pinned by shop v1" in row and "sha256:" in row, row
assert "1 image tag · 1 match, 1 of them held whole here" in hit["tests"]["images-count"], hit["tests"]["images-count"]
assert "image:outpost.releases/shop:v1" not in hit["tests"], "a release's artifact is no image"
assert "image:upstream.test/test/app:v1" not in none["tests"], none["tests"]
assert "0 match" in none["tests"]["images-count"] and "no image matches" in none["text"], none["text"]
for p in (hit, none):
    assert not p["console_errors"], p["console_errors"]
    assert not p["horizontal_overflow"], "the Images section overflows a phone-wide screen"
print("images section:", row.replace("\n", " | "))
PY

log "a background sync that hangs while the page is read: the mirror is still synced, syncing now"
echo blackhole >"$gitlink_CTL"
git_syncing() {
  curl -s "$API/api/v1/status" |
    python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["git"][0]["syncing"] else 1)'
}
for _ in $(seq 100); do git_syncing && break; sleep 0.2; done  # the next retry (backoff <= 2 s)
git_syncing || die "no sync started against the swallowing link"
node "$BROWSER/page_check.mjs" "$API/" "$ARTIFACTS/status-page-syncing.png" >"$T/page-syncing.json" \
  2>"$T/page.err" || die "page_check: $(cat "$T/page.err")"
git_syncing || die "the sync ended while the page was read"
python3 - "$T/page-syncing.json" <<'PY' || die "a synced mirror that is syncing is shown wrong"
import json, sys
row = json.load(open(sys.argv[1]))["tests"]["git:git.test/org/app"]
assert " — synced" in row and "syncing now" in row and "last sync" in row, row
PY
log "screenshot: $ARTIFACTS/status-page.png"
log "ok"
