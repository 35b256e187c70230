#!/usr/bin/env bash
# No open proxy, no SSRF: a canary listener on a loopback port stands for "somewhere else", and
# every way a client can name a place — registry ?ns= and path prefixes, git and helm hosts in
# paths, webhook payloads, bundle sources (http, oci://, local paths), chart URLs inside an
# upstream index — is tried against it. Each request gets a clear 4xx, and the
# canary is never dialled. Only configured upstreams ever are.
source "$(dirname "$0")/lib.sh"
CP=$(free_port)
python3 "$TOOLS/canary.py" --port "$CP" --log "$T/canary.hits" >"$T/canary.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$CP") 2>/dev/null && break; sleep 0.1; done
sleep 0.2
: >"$T/canary.hits"  # the readiness probe above is not Outpost
CANARY=127.0.0.1:$CP

start_registry up
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 1 --layers 1 >/dev/null
push_image "$T/layout" v1 "$up_PORT" test/app
# a chart repository whose index points one chart at the canary
mkdir -p "$T/www/stable"
cat >"$T/www/stable/index.yaml" <<YAML
apiVersion: v1
entries:
  evil:
    - {name: evil, version: 1.0.0, urls: ["http://$CANARY/evil-1.0.0.tgz"]}
YAML
WP=$(free_port)
start_nginx web "$WP" 1 "  access_log off;
  server { listen 127.0.0.1:$WP; root $T/www;
    location = /bundles/moved.tar { return 302 http://$CANARY/x.tar; }
    location = /bundles/moved-far.tar { return 302 http://127.0.0.1:$WP/elsewhere/x.tar; } }"

OP=$(free_port)
write_outpost_config "$T/serve.yaml" "$OP" "$T/data" upstream.test "http://127.0.0.1:$up_PORT"
cat >>"$T/serve.yaml" <<YAML
git:
  upstreams:
    - host: git.test
      url: http://127.0.0.1:9
      insecure: true
helm:
  upstreams:
    - host: charts.test
      url: http://127.0.0.1:$WP
      insecure: true
bundle:
  allowed_sources: ["http://127.0.0.1:$WP/bundles/", "oci://upstream.test/bundles/", "http://bundles.test",
    "$T/srv/bundles"]
YAML
start_outpost op "$T/serve.yaml"
A=http://127.0.0.1:$OP
code() { curl -s --path-as-is -o "$T/body" -w '%{http_code}' "$@"; }
expect_4xx() {  # expect_4xx WHAT CURL_ARGS…
  local what=$1 c
  shift
  c=$(code "$@")
  [[ $c == 4* ]] || die "$what: HTTP $c $(head -c 300 "$T/body")"
  log "$what: HTTP $c $(head -c 120 "$T/body" | tr '\n' ' ')"
}

log "registry: the canary as ns, as a path prefix, as a repository name"
expect_4xx "?ns=canary" "$A/v2/test/app/manifests/v1?ns=$CANARY"
expect_4xx "path prefix" "$A/v2/$CANARY/test/app/manifests/v1"
expect_4xx "ns=http URL" "$A/v2/test/app/manifests/v1?ns=http://$CANARY"
expect_4xx "registry host in repo" "$A/v2/upstream.test/$CANARY/app/manifests/v1"
log "git and helm: the canary as a host"
expect_4xx "git host" "$A/git/$CANARY/org/app.git/info/refs?service=git-upload-pack"
expect_4xx "git host (encoded)" "$A/git/127.0.0.1%3A$CP/org/app.git/info/refs?service=git-upload-pack"
expect_4xx "helm host" "$A/helm/$CANARY/stable/index.yaml"
expect_4xx "helm chart URL on the canary" "$A/helm/charts.test/stable/charts/evil-1.0.0.tgz"
log "webhooks naming the canary"
for body in "{\"repository\":{\"clone_url\":\"http://$CANARY/org/app.git\"}}" \
  "{\"project\":{\"git_http_url\":\"http://$CANARY/org/app.git\"}}" "{\"repo\":\"$CANARY/org/app\"}"; do
  expect_4xx "webhook $body" -X POST -H 'Content-Type: application/json' -d "$body" "$A/api/v1/git/webhook"
done
log "bundle sources outside bundle.allowed_sources"
mkdir -p "$T/srv/bundles-evil"
for src in "http://$CANARY/x.tar" "http://127.0.0.1:$WP/bundles/../../$CANARY/x.tar" \
  "oci://$CANARY/bundles/x:v1" "oci://upstream.test/other/x:v1" "/etc/passwd" "file:///etc/passwd" \
  "http://bundles.test@$CANARY/x.tar" "http://bundles.test:80@$CANARY/x.tar" "http://bundles.test.$CANARY/x.tar" \
  "http://127.0.0.1:$WP/bundles%2f..%2f..%2fx.tar" "$T/srv/bundles-evil/x.tar" "oci://upstream.test/bundles-evil/x:v1"; do
  expect_4xx "bundle source $src" -X POST -H 'Content-Type: application/json' \
    -d "{\"source\":\"$src\",\"name\":\"x\",\"version\":\"v1\"}" "$A/api/v1/releases"
done

log "an allowed source that redirects outside bundle.allowed_sources"
for moved in moved moved-far; do
  c=$(code -X POST -H 'Content-Type: application/json' \
    -d "{\"source\":\"http://127.0.0.1:$WP/bundles/$moved.tar\",\"name\":\"$moved\",\"version\":\"v1\"}" "$A/api/v1/releases")
  [[ $c == 2* ]] || die "the allowed source $moved.tar was refused: HTTP $c $(cat "$T/body")"
  for _ in $(seq 100); do
    code "$A/api/v1/releases/$moved/v1" >/dev/null
    grep -q '"state":"failed"' "$T/body" && break
    sleep 0.1
  done
  grep -q 'outside bundle.allowed_sources' "$T/body" || die "$moved.tar: the redirect was not refused: $(cat "$T/body")"
  log "$moved.tar: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"])' "$T/body")"
done

sleep 0.5
[[ ! -s $T/canary.hits ]] || die "Outpost dialled the canary: $(cat "$T/canary.hits")"
log "the canary was never dialled"
log "ok"
