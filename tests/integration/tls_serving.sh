#!/usr/bin/env bash
# HTTPS from a certificate/key pair (server.tls_cert_file / tls_key_file): skopeo pulls, git
# clones and curl fetch blobs over TLS verified against the test CA, byte-identical; plain HTTP to
# the TLS port and a client that does not trust the CA get no content; a config naming a missing
# key is refused at start.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=outpost test CA" -keyout "$T/ca.key" -out "$T/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$T/server.key" -out "$T/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$T/ext.cnf"
openssl x509 -req -in "$T/server.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
  -extfile "$T/ext.cnf" -out "$T/server.crt" 2>/dev/null

start_registry up
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 2 --layers 2 >/dev/null
push_image "$T/layout" v1 "$up_PORT" test/app
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$up_PORT/test/app:v1" "dir:$T/direct"
start_git_upstream
make_manifest_repo org/app
OP=$(free_port)
write_git_outpost_config "$T/serve.yaml" "$OP" "$T/data"
printf 'server:\n  tls_cert_file: %s\n  tls_key_file: %s\n' "$T/server.crt" "$T/server.key" >>"$T/serve.yaml"
registry_yaml "http://127.0.0.1:$up_PORT" >>"$T/serve.yaml"
"$OUTPOST_BIN" serve --config "$T/serve.yaml" >>"$T/op.log" 2>&1 &
op_PID=$!
PIDS+=("$op_PID")
for _ in $(seq 100); do curl -s --cacert "$T/ca.crt" -o /dev/null "https://127.0.0.1:$OP/healthz" && break; sleep 0.1; done
A=https://127.0.0.1:$OP

log "skopeo over HTTPS, verified against the test CA"
mkdir -p "$T/certs.d"
cp "$T/ca.crt" "$T/certs.d/ca.crt"
skopeo_ copy -q --src-cert-dir "$T/certs.d" "docker://127.0.0.1:$OP/upstream.test/test/app:v1" "dir:$T/pulled" ||
  die "skopeo over TLS"
diff -r "$T/direct" "$T/pulled" >/dev/null || die "image over TLS differs"
log "a blob over HTTPS (the file path that cannot use sendfile), with a Range"
layer=$(upstream_layers "$up_PORT" test/app v1 | sed -n 1p)
curl -sf --cacert "$T/ca.crt" -o "$T/blob" "$A/v2/upstream.test/test/app/blobs/$layer" || die "blob over TLS"
[[ sha256:$(sha256sum <"$T/blob" | cut -d' ' -f1) == "$layer" ]] || die "blob bytes over TLS"
curl -sf --cacert "$T/ca.crt" -r 1000-1999 -o "$T/range" "$A/v2/upstream.test/test/app/blobs/$layer" || die "range"
cmp -s "$T/range" <(tail -c +1001 "$T/blob" | head -c 1000) || die "range bytes over TLS"
log "git clone over HTTPS"
GIT_SSL_CAINFO=$T/ca.crt git clone -q "$A/git/git.test/org/app.git" "$T/clone" || die "clone over TLS"
[[ $(git -C "$T/clone" rev-parse HEAD) == $(git -C "$T/work/org/app" rev-parse HEAD) ]] || die "clone differs"
log "refused: plain HTTP to the TLS port, a client that does not trust the CA"
curl -s -m 5 -o "$T/plain" "http://127.0.0.1:$OP/v2/" && [[ -s $T/plain ]] && grep -q . "$T/plain" &&
  die "plain HTTP answered with content"
curl -s -m 5 -o /dev/null "$A/v2/" && die "an untrusted certificate was accepted"
curl -sf --cacert "$T/ca.crt" "$A/healthz" >/dev/null || die "server not serving after bad clients"
log "a config naming a missing key is refused"
sed "s|$T/server.key|$T/missing.key|" "$T/serve.yaml" >"$T/bad.yaml"
"$OUTPOST_BIN" serve --config "$T/bad.yaml" --check-config 2>"$T/bad.err" && die "missing key accepted"
grep -q 'missing.key' "$T/bad.err" || die "unclear: $(cat "$T/bad.err")"
log "ok"
