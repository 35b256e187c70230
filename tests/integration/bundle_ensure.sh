#!/usr/bin/env bash
# The PreSync hook path: `outpost bundle ensure` makes a running Outpost fetch a release bundle
# over HTTP from a server that drops the connection mid-transfer again and again; the download
# resumes (never restarts), the release becomes ready, and its images pull offline. ensure exits
# non-zero with a clear message when the source is unreachable, refused or corrupt.
source "$(dirname "$0")/lib.sh"

start_registry up
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 6 --layers 1 >/dev/null
python3 "$TOOLS/make_image.py" "$T/layout" v2 --layer-mb 2 --layers 1 --seed two >/dev/null
push_image "$T/layout" v1 "$up_PORT" test/app
push_image "$T/layout" v2 "$up_PORT" test/app
write_outpost_config "$T/create.yaml" "$(free_port)" "$T/create-data" upstream.test "http://127.0.0.1:$up_PORT"
mkdir -p "$T/www"
openssl genpkey -algorithm ed25519 -out "$T/release.key" 2>/dev/null
openssl pkey -in "$T/release.key" -pubout -out "$T/release.pub"
"$OUTPOST_BIN" bundle create --config "$T/create.yaml" --name shop --version v1 --sign-key "$T/release.key" \
  --image upstream.test/test/app:v1 -o "$T/www/shop-v1.tar" 2>"$T/create.log" || die "create: $(cat "$T/create.log")"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$up_PORT/test/app:v1" "dir:$T/direct"
"$OUTPOST_BIN" bundle create --config "$T/create.yaml" --name shop --version v2 --sign-key "$T/release.key" \
  --image upstream.test/test/app:v2 -o "$T/shop-v2.tar" 2>>"$T/create.log" || die "create v2"
python3 "$TOOLS/tamper_bundle.py" flip "$T/shop-v2.tar" "$T/www/shop-bad.tar"
stop_pid "$up_PID"
size=$(stat -c %s "$T/www/shop-v1.tar")

# a static file server (nginx: Range support) behind the fault proxy
WP=$(free_port)
start_nginx webnginx "$WP" 1 "  access_log $T/web-access.log;
  server { listen 127.0.0.1:$WP; root $T/www; }"
start_proxy px "$WP"
echo "cut 2500000" >"$px_CTL"  # every connection dies after 2.5 MB

OP=$(free_port)
write_outpost_config "$T/serve.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:$up_PORT"
cat >>"$T/serve.yaml" <<YAML
bundle:
  download_attempts: 5
  trust_keys: ["$T/release.pub"]
  allowed_sources: ["http://127.0.0.1:$px_PORT/", "http://127.0.0.1:9/"]
YAML
start_outpost op "$T/serve.yaml"
S=http://127.0.0.1:$OP

"$OUTPOST_BIN" bundle ensure --server "$S" --name shop --version v1 --check >/dev/null && die "--check says ready before import"
log "ensure over a link that drops every 2.5 MB ($size-byte bundle)"
"$OUTPOST_BIN" bundle ensure --server "$S" --source "http://127.0.0.1:$px_PORT/shop-v1.tar" \
  --name shop --version v1 --timeout 2m 2>"$T/ensure.log" || die "ensure failed: $(cat "$T/ensure.log")"
tail -1 "$T/ensure.log" | grep_q 'is ready' || die "ensure output: $(cat "$T/ensure.log")"
requests=$(grep -c 'shop-v1.tar' "$T/web-access.log")
# what crossed the flaky link into Outpost (nginx's log counts what it pushed into socket buffers)
received=$(sed -n 's/.*release shop v1: downloaded [0-9]* bytes in [0-9]* attempts (\([0-9]*\) bytes received).*/\1/p' "$T/op.log")
log "download took $requests requests; Outpost received $received bytes for a $size-byte bundle"
[[ $requests -ge 3 ]] || die "the link did not drop as intended ($requests requests)"
[[ -n $received && $received -le $((size + size / 20)) ]] || die "download restarted from zero ($received bytes received for $size)"
grep -q 'Range' "$T/op.log" || true
"$OUTPOST_BIN" bundle ensure --server "$S" --name shop --version v1 --check >/dev/null || die "--check after ready"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/app:v1" "dir:$T/offline" ||
  die "offline pull after ensure"
diff -r "$T/direct" "$T/offline" >/dev/null || die "offline image differs"
curl -sf "$S/api/v1/releases" | grep_q '"state":"ready"' || die "releases API"

echo pass >"$px_CTL"
log "unreachable source: non-zero, clear message"
if "$OUTPOST_BIN" bundle ensure --server "$S" --source "http://127.0.0.1:9/x.tar" --name shop --version v9 \
  --timeout 2m 2>"$T/unreach.log"; then die "ensure succeeded with an unreachable source"; fi
grep -q 'download failed' "$T/unreach.log" || die "unclear: $(cat "$T/unreach.log")"
log "$(tail -1 "$T/unreach.log")"
log "corrupt bundle: non-zero, verification named"
if "$OUTPOST_BIN" bundle ensure --server "$S" --source "http://127.0.0.1:$px_PORT/shop-bad.tar" --name shop \
  --version v2 --timeout 2m 2>"$T/bad.log"; then die "ensure succeeded with a corrupt bundle"; fi
grep -q 'import failed: bundle blob sha256:[0-9a-f]* is corrupt' "$T/bad.log" || die "unclear: $(cat "$T/bad.log")"
"$OUTPOST_BIN" bundle ensure --server "$S" --name shop --version v2 --check >/dev/null && die "corrupt release reported ready"
log "$(tail -1 "$T/bad.log")"
log "bundle import --server (through the API) and from a URL into a data dir, over the cutting link"
cp "$T/shop-v2.tar" "$T/www/shop-v2.tar"
echo "cut 2500000" >"$px_CTL"
"$OUTPOST_BIN" bundle import --server "$S" --name shop --version v2 "http://127.0.0.1:$px_PORT/shop-v2.tar" \
  2>"$T/import-server.log" || die "import --server: $(cat "$T/import-server.log")"
"$OUTPOST_BIN" bundle ensure --server "$S" --name shop --version v2 --check >/dev/null || die "v2 not ready after import --server"
write_outpost_config "$T/cli.yaml" "$(free_port)" "$T/cli-data" upstream.test "http://127.0.0.1:$up_PORT"
printf 'bundle:\n  trust_keys: ["%s"]\n' "$T/release.pub" >>"$T/cli.yaml"
"$OUTPOST_BIN" bundle import --config "$T/cli.yaml" "http://127.0.0.1:$px_PORT/shop-v1.tar" 2>"$T/import-url.log" ||
  die "import from URL: $(cat "$T/import-url.log")"
grep -q 'imported release shop v1' "$T/import-url.log" || die "import from URL: $(cat "$T/import-url.log")"
echo pass >"$px_CTL"

log "sources outside bundle.allowed_sources are refused"
for src in /etc/passwd "http://169.254.169.254/latest" "file:///etc/passwd"; do
  if "$OUTPOST_BIN" bundle ensure --server "$S" --source "$src" --name shop --version v2 2>"$T/refused.log"; then
    die "source $src accepted"
  fi
  grep -q 'refused' "$T/refused.log" || die "unclear for $src: $(cat "$T/refused.log")"
done
log "ok"
