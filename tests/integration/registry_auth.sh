#!/usr/bin/env bash
# An upstream that requires credentials (docker-registry with htpasswd basic auth): Outpost
# pulls with the configured username/password_file, clients need none, the secret never reaches
# a log or a client, and tags are revalidated only once tag_ttl has passed.
source "$(dirname "$0")/lib.sh"

SECRET="s3cret-$RANDOM-$RANDOM"
start_registry up
# restart the upstream with basic auth on (start_registry wrote a plain config)
stop_pid "$up_PID"
htpasswd -Bbn robot "$SECRET" >"$T/htpasswd"
cat >>"$T/up/config.yml" <<YAML
auth:
  htpasswd:
    realm: outpost-test
    path: $T/htpasswd
YAML
docker-registry serve "$T/up/config.yml" >>"$T/up.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$up_PORT/v2/"
[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$up_PORT/v2/") == 401 ]] || die "upstream does not require auth"

python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 1 >/dev/null
skopeo_ copy -q --dest-creds "robot:$SECRET" --dest-tls-verify=false "oci:$T/layout:v1" "docker://127.0.0.1:$up_PORT/test/app:v1"

OP=$(free_port)
write_outpost_config "$T/outpost.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:$up_PORT" "tag_ttl: 1h"
upstream_credentials "$T/outpost.yaml" "$SECRET"
start_outpost op "$T/outpost.yaml"

log "pull through Outpost with no client credentials"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$OP/upstream.test/test/app:v1" "dir:$T/pulled" || die "authenticated pull failed"
curl -s -D "$T/headers" -o /dev/null "http://127.0.0.1:$OP/v2/upstream.test/test/app/manifests/v1"
grep -qi 'www-authenticate\|authorization' "$T/headers" && die "auth headers leaked to the client: $(cat "$T/headers")"

log "the secret is in no log line"
secret_in_no_log "$SECRET" "$T/op.log"

log "tag_ttl 1h: repeated tag pulls do not revalidate upstream"
before=$(grep -c '"\(GET\|HEAD\) /v2/test/app/manifests/v1 ' "$T/up.log" || true)
for i in 1 2 3; do curl -sf -o /dev/null "http://127.0.0.1:$OP/v2/upstream.test/test/app/manifests/v1"; done
after=$(grep -c '"\(GET\|HEAD\) /v2/test/app/manifests/v1 ' "$T/up.log" || true)
[[ $before == "$after" ]] || die "tag revalidated within tag_ttl ($before -> $after upstream requests)"

log "wrong password: a clear error, not a hang"
stop_pid "$op_PID"
printf 'wrong\n' >"$T/password"
rm -rf "$T/data2"
sed -i "s|data_dir: .*|data_dir: $T/data2|" "$T/outpost.yaml"
start_outpost op "$T/outpost.yaml"
code=$(curl -s -o "$T/err.json" -w '%{http_code}' "http://127.0.0.1:$OP/v2/upstream.test/test/app/manifests/v1")
[[ $code == 502 ]] || die "wrong credentials gave HTTP $code: $(cat "$T/err.json")"
grep -q "refused Outpost's credentials (HTTP 401)" "$T/err.json" || die "error does not say why: $(cat "$T/err.json")"
log "wrong password answer: $(cat "$T/err.json")"
log "ok"
