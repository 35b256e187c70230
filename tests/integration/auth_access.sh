#!/usr/bin/env bash
# Access control on a non-loopback address (a veth pair into a network namespace of the test):
# the admin API is closed to the network by default; with auth configured, each route group
# (registry, git/helm, admin) takes only credentials that list it — bearer tokens and htpasswd
# (bcrypt) users — and refuses the rest with 401/403 in the client's own format; the status page
# stays open; webhooks from the network need a secret; no secret reaches a log.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/git_lib.sh"
make_veth
start_registry up
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 1 --layers 1 >/dev/null
push_image "$T/layout" v1 "$up_PORT" test/app
start_git_upstream
make_manifest_repo org/app

serve_on() {  # serve_on NAME CONFIG PORT: Outpost on HOST_IP
  "$OUTPOST_BIN" serve --config "$2" >>"$T/$1.log" 2>&1 &
  PIDS+=("$!")
  wait_http "http://$HOST_IP:$3/healthz"
}
config() {  # config FILE PORT DATA
  write_git_outpost_config "$1" "$2" "$3"
  sed -i "s/^listen: .*/listen: $HOST_IP:$2/" "$1"
  registry_yaml "http://127.0.0.1:$up_PORT" >>"$1"
  printf 'bundle:\n  download_attempts: 1\n' >>"$1"
}
code() { curl -s -o "$T/body" -w '%{http_code}' "$@"; }

log "default config on a network address: the admin API is closed, pulls are open"
P1=$(free_port)
config "$T/default.yaml" "$P1" "$T/data1"
serve_on default "$T/default.yaml" "$P1"
c=$(code -X POST -d '{"source":"http://127.0.0.1:9/x.tar","name":"a","version":"v1"}' "http://$HOST_IP:$P1/api/v1/releases")
[[ $c == 403 ]] && grep -q 'admin API is closed to the network' "$T/body" || die "admin open by default: $c $(cat "$T/body")"
c=$(in_ns curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "http://$HOST_IP:$P1/api/v1/releases")
[[ $c == 403 ]] || die "admin from the namespace: $c"
c=$(code -X POST -d '{}' "http://$HOST_IP:$P1/api/v1/git/webhook")
[[ $c == 403 ]] && grep -q 'webhook_secret' "$T/body" || die "webhook without secret from the network: $c"
[[ $(code "http://$HOST_IP:$P1/v2/") == 200 ]] || die "registry not open by default"

log "auth configured: tokens and htpasswd users per group"
head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$T/admin.token"
head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$T/pull.token"
htpasswd -bBc "$T/htpasswd" argocd 's3cret pass' 2>/dev/null
P2=$(free_port)
config "$T/auth.yaml" "$P2" "$T/data2"
cat >>"$T/auth.yaml" <<YAML
auth:
  require: [registry, git]
  tokens:
    - {name: presync, token_file: $T/admin.token, groups: [admin, status]}
    - {name: nodes, token_file: $T/pull.token, groups: [registry]}
  htpasswd_file: $T/htpasswd
  users:
    - {name: argocd, groups: [git, registry]}
YAML
serve_on auth "$T/auth.yaml" "$P2"
A=http://$HOST_IP:$P2
ADMIN=$(cat "$T/admin.token")
PULL=$(cat "$T/pull.token")

log "registry: no credential 401 (OCI body), node token and argocd user pull, wrong password 401"
c=$(code "$A/v2/upstream.test/test/app/manifests/v1")
[[ $c == 401 ]] && grep -q '"UNAUTHORIZED"' "$T/body" || die "anonymous pull: $c $(cat "$T/body")"
skopeo_ inspect --tls-verify=false "docker://$HOST_IP:$P2/upstream.test/test/app:v1" >/dev/null 2>&1 &&
  die "skopeo pulled without credentials"
skopeo_ inspect --tls-verify=false --creds "nodes:$PULL" "docker://$HOST_IP:$P2/upstream.test/test/app:v1" >/dev/null ||
  die "node token refused"
skopeo_ inspect --tls-verify=false --creds "argocd:s3cret pass" "docker://$HOST_IP:$P2/upstream.test/test/app:v1" >/dev/null ||
  die "htpasswd user refused"
c=$(code -u "argocd:wrong" "$A/v2/")
[[ $c == 401 ]] || die "wrong password: $c"
c=$(code -H "Authorization: Bearer $ADMIN" "$A/v2/")
[[ $c == 403 ]] || die "admin token on the registry: $c"

log "git and helm: the argocd user clones, the node token may not, no credential gets a challenge"
GIT_TERMINAL_PROMPT=0 git ls-remote "$A/git/git.test/org/app.git" >/dev/null 2>"$T/git-anon.err" &&
  die "anonymous git"
grep -qi 'authentication failed\|401\|could not read Username' "$T/git-anon.err" || die "git error: $(cat "$T/git-anon.err")"
git clone -q "http://argocd:s3cret%20pass@$HOST_IP:$P2/git/git.test/org/app.git" "$T/clone" || die "argocd clone"
c=$(code -u "nodes:$PULL" "$A/git/git.test/org/app.git/info/refs?service=git-upload-pack")
[[ $c == 403 ]] || die "node token on git: $c"
c=$(code "$A/helm/charts.test/x/index.yaml")
[[ $c == 401 ]] || die "anonymous helm: $c"

log "admin: only the presync token; ensure with --token-file gets through to the import"
c=$(code -X POST -H "Authorization: Bearer $PULL" -d '{}' "$A/api/v1/releases")
[[ $c == 403 ]] || die "node token on admin: $c"
c=$(code -X POST -d '{}' "$A/api/v1/releases")
[[ $c == 401 ]] || die "anonymous admin: $c"
"$OUTPOST_BIN" bundle ensure --server "$A" --token-file "$T/admin.token" --source http://127.0.0.1:9/shop.tar \
  --name shop --version v1 --timeout 1m >"$T/ensure.out" 2>&1 && die "ensure of an unreachable source succeeded"
grep -q 'download failed' "$T/ensure.out" || die "ensure did not get past auth: $(cat "$T/ensure.out")"
OUTPOST_TOKEN=$PULL "$OUTPOST_BIN" bundle ensure --server "$A" --source http://127.0.0.1:9/shop.tar \
  --name shop --version v2 >"$T/ensure2.out" 2>&1 && die "ensure with the node token"
grep -q 'refused' "$T/ensure2.out" || die "unclear: $(cat "$T/ensure2.out")"

log "status stays readable; from the namespace too"
[[ $(code "$A/") == 200 ]] || die "status page"
[[ $(in_ns curl -s -o /dev/null -w '%{http_code}' "$A/api/v1/status") == 200 ]] || die "status API from the namespace"

log "no secret in any log"
for s in "$ADMIN" "$PULL" "s3cret pass" "s3cret%20pass"; do
  if grep -rqF -- "$s" "$T"/*.log; then die "a secret reached a log"; fi
done
log "ok"
