#!/usr/bin/env bash
# An upstream with Docker-Hub-style token auth: a docker-registry (`auth: token`) whose realm is
# tools/token_issuer.py (RS256 JWTs with an x5c the registry verifies against its rootcertbundle;
# anonymous may pull library/*, robot may do everything). Outpost, as the docker.io upstream:
#  1. pulls library/* anonymously by the path prefix, ?ns= and default-upstream (/v2/<name>) routes,
#     asking the issuer for exactly repository:library/<name>:pull;
#  2. cannot pull team/secret anonymously (the issuer grants nothing for it), and pulls it with
#     username/password_file;
#  3. a token that expires in the middle of a large blob: the cut download is resumed with a fresh
#     token, byte-identical;
#  4. a 401 whose challenge names no scope: Outpost asks for the repository's pull scope itself;
#  5. a realm on another host (127.0.0.2): the credentials go there and nowhere else (never to the
#     registry);
#  6. a token service that refuses (401 to anonymous for a private repository, as ghcr.io does; a
#     wrong password) is an answer about access, as a basic-auth 401 is: a 502 that says so, and
#     the upstream is not marked down (other repositories still pull);
# and the password is in no log line.
source "$(dirname "$0")/lib.sh"

SECRET="tok-s3cret-$RANDOM-$RANDOM"
printf '%s\n' "$SECRET" >"$T/password"
SERVICE=outpost-test-registry
ISSUER=outpost-test-issuer
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/token.key" -out "$T/token.crt" -days 2 \
  -subj "/CN=$ISSUER" 2>/dev/null || die "openssl could not make the token signing key"

# start_issuer NAME ADDR: tools/token_issuer.py on a free port of ADDR; sets ${NAME}_PORT and
# ${NAME}_REALM; every token request is a line in $T/NAME-tokens.log; `expires_in N` in
# $T/NAME.ctl makes its tokens live N s (default 300).
start_issuer() {
  local name=$1 addr=$2 port
  port=$(python3 "$TOOLS/free_port.py" "$addr")
  : >"$T/$name.ctl"
  : >"$T/$name-tokens.log"
  python3 "$TOOLS/token_issuer.py" --listen "$addr:$port" --key "$T/token.key" --cert "$T/token.crt" \
    --issuer "$ISSUER" --service "$SERVICE" --user robot --password-file "$T/password" \
    --anonymous-prefix library/ --log "$T/$name-tokens.log" --control "$T/$name.ctl" >"$T/$name.log" 2>&1 &
  started "$name" $! "$port" "http://$addr:$port/healthz"
  printf -v "${name}_REALM" 'http://%s:%s/token' "$addr" "$port"
}

# start_token_registry NAME REALM [STORAGE_DIR]: a docker-registry on 127.0.0.1 whose auth is
# `token` with REALM (start_registry's config plus the auth section); STORAGE_DIR may be another
# registry's, to serve the same content.
start_token_registry() {
  REGISTRY_DATA=${3:-} REGISTRY_EXTRA_YAML="auth:
  token:
    realm: $2
    service: $SERVICE
    issuer: $ISSUER
    rootcertbundle: $T/token.crt" start_registry "$1"
}

# start_op NAME UPSTREAM_URL [creds]: Outpost NAME ($T/NAME.yaml, data $T/NAME-data) whose only
# upstream, docker.io (also the default), is UPSTREAM_URL; with "creds", as robot
# (password_file, debug log).
start_op() {
  local name=$1 url=$2
  write_outpost_config "$T/$name.yaml" "$(free_port)" "$T/$name-data" docker.io "$url"
  [[ ${3:-} != creds ]] || upstream_credentials "$T/$name.yaml" "$SECRET"
  start_outpost "$name" "$T/$name.yaml"
}

# wait_log FILE ERE [SECONDS]: until a line of FILE matches.
wait_log() {
  for _ in $(seq $((${3:-30} * 10))); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# token_lines ISSUER_NAME ACCOUNT SCOPE: how many token requests ACCOUNT made for SCOPE.
token_lines() {
  grep -c -- " account=$2 .*scope=$3 " "$T/$1-tokens.log" || true
}

same() {  # same DIR_A DIR_B WHAT
  diff -r "$1" "$2" >/dev/null || die "$3: the copy through Outpost differs from the upstream's"
}

# blob digests of a manifest (config and layers)
blobs_of() {
  python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); [print(d["digest"]) for d in [m["config"]] + m["layers"]]' "$1"
}

ACCEPT='application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json'

start_issuer iss 127.0.0.1
start_token_registry up "$iss_REALM"

log "the upstream wants a token from the issuer; the issuer checks robot's password"
curl -sI "http://127.0.0.1:$up_PORT/v2/library/app/manifests/v1" | tr -d '\r' >"$T/challenge"
grep -qi "^www-authenticate: Bearer realm=\"$iss_REALM\",service=\"$SERVICE\",scope=\"repository:library/app:pull\"" "$T/challenge" ||
  die "unexpected upstream challenge: $(cat "$T/challenge")"
code=$(curl -s -o /dev/null -w '%{http_code}' -u robot:wrong "$iss_REALM?service=$SERVICE&scope=repository:team/secret:pull")
[[ $code == 401 ]] || die "the issuer gave a token for a wrong password (HTTP $code)"

log "push library/{app,web,tool,big} and team/secret with a token (skopeo as robot)"
for app in app web tool secret; do
  python3 "$TOOLS/make_image.py" "$T/layout" "$app" --layer-mb 1 --layers 2 --seed "$app" >/dev/null
done
python3 "$TOOLS/make_image.py" "$T/layout" big --layer-mb 64 --layers 1 --seed big >/dev/null
for repo in library/app library/web library/tool team/secret library/big; do
  tag=${repo#*/}
  skopeo_ copy -q --dest-creds "robot:$SECRET" --dest-tls-verify=false "oci:$T/layout:$tag" \
    "docker://127.0.0.1:$up_PORT/$repo:v1" || die "push of $repo"
  skopeo_ copy -q --src-creds "robot:$SECRET" --src-tls-verify=false "docker://127.0.0.1:$up_PORT/$repo:v1" \
    "dir:$T/direct-$tag" || die "direct pull of $repo"
done
grep -q " account=robot .*granted=repository:library/app:pull,push " "$T/iss-tokens.log" ||
  die "skopeo's push did not get its token from the issuer: $(cat "$T/iss-tokens.log")"

# ---------------------------------------------------------------------------------------------
log "1. anonymous pulls of library/* by the three routes"
start_op anon "http://127.0.0.1:$up_PORT"
: >"$T/iss-tokens.log"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$anon_PORT/docker.io/library/app:v1" "dir:$T/anon-app" ||
  die "anonymous pull of docker.io/library/app (path prefix) failed"
same "$T/direct-app" "$T/anon-app" "library/app by path prefix"

mkdir -p "$T/anon-web"
curl -sf -H "Accept: $ACCEPT" -o "$T/anon-web/manifest.json" "http://127.0.0.1:$anon_PORT/v2/web/manifests/v1?ns=docker.io" ||
  die "anonymous manifest GET of web?ns=docker.io failed"
cmp -s "$T/direct-web/manifest.json" "$T/anon-web/manifest.json" || die "web?ns=docker.io: manifest differs from upstream's"
for d in $(blobs_of "$T/anon-web/manifest.json"); do
  curl -sf -o "$T/anon-web/${d#sha256:}" "http://127.0.0.1:$anon_PORT/v2/web/blobs/$d?ns=docker.io" ||
    die "anonymous blob GET of web?ns=docker.io ($d) failed"
  cmp -s "$T/direct-web/${d#sha256:}" "$T/anon-web/${d#sha256:}" || die "web?ns=docker.io: blob $d differs from upstream's"
done

skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$anon_PORT/tool:v1" "dir:$T/anon-tool" ||
  die "anonymous pull of tool (default upstream, library/ added) failed"
same "$T/direct-tool" "$T/anon-tool" "tool by the default upstream route"

for app in app web tool; do
  grep -q " account=anonymous service=$SERVICE scope=repository:library/$app:pull granted=repository:library/$app:pull expires_in" \
    "$T/iss-tokens.log" || die "no anonymous token request for repository:library/$app:pull: $(cat "$T/iss-tokens.log")"
done
grep -v " account=anonymous service=$SERVICE scope=repository:library/[a-z]*:pull granted=[^ ]* expires_in=300 status=200$" \
  "$T/iss-tokens.log" >"$T/unexpected" && die "unexpected token requests by the anonymous Outpost: $(cat "$T/unexpected")"

# ---------------------------------------------------------------------------------------------
log "2. team/secret: refused to anonymous by the issuer, pulled with username/password_file"
: >"$T/iss-tokens.log"
code=$(curl -s -o "$T/anon-secret.json" -w '%{http_code}' -H "Accept: $ACCEPT" \
  "http://127.0.0.1:$anon_PORT/v2/docker.io/team/secret/manifests/v1")
[[ $code != 200 ]] || die "anonymous Outpost served team/secret"
log "anonymous team/secret answer: HTTP $code $(cat "$T/anon-secret.json")"
grep -q " account=anonymous service=$SERVICE scope=repository:team/secret:pull denied=repository:team/secret:pull " "$T/iss-tokens.log" ||
  die "the issuer did not refuse team/secret to anonymous: $(cat "$T/iss-tokens.log")"
grep -q "granted=repository:team/secret" "$T/iss-tokens.log" && die "team/secret granted to anonymous"
stop_pid "$anon_PID"

start_op robot "http://127.0.0.1:$up_PORT" creds
: >"$T/iss-tokens.log"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$robot_PORT/docker.io/team/secret:v1" "dir:$T/robot-secret" ||
  die "pull of team/secret with credentials failed"
same "$T/direct-secret" "$T/robot-secret" "team/secret with credentials"
grep -q " account=robot service=$SERVICE scope=repository:team/secret:pull granted=repository:team/secret:pull " "$T/iss-tokens.log" ||
  die "no robot token request for team/secret: $(cat "$T/iss-tokens.log")"
grep -q " account=\(anonymous\|refused\) " "$T/iss-tokens.log" &&
  die "a token request of the robot Outpost was not authenticated as robot: $(cat "$T/iss-tokens.log")"
curl -s -D "$T/robot-headers" -o /dev/null "http://127.0.0.1:$robot_PORT/v2/docker.io/team/secret/manifests/v1"
grep -qi 'www-authenticate\|authorization' "$T/robot-headers" && die "auth headers leaked to the client: $(cat "$T/robot-headers")"
stop_pid "$robot_PID"

# ---------------------------------------------------------------------------------------------
log "3. a token that expires in the middle of a 64 MiB blob"
echo "expires_in 2" >"$T/iss.ctl"
# The premise: the registry refuses a 2 s token once it has lapsed.
tok=$(curl -sf "$iss_REALM?service=$SERVICE&scope=repository:library/big:pull" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') || die "no token from the issuer"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" -H "Accept: $ACCEPT" \
  "http://127.0.0.1:$up_PORT/v2/library/big/manifests/v1")
[[ $code == 200 ]] || die "a fresh token was refused (HTTP $code)"
sleep 3.2  # the token's lifetime (2 s, exp rounded up to the second) lapses: what is tested
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" -H "Accept: $ACCEPT" \
  "http://127.0.0.1:$up_PORT/v2/library/big/manifests/v1")
[[ $code == 401 ]] || die "the registry still takes a lapsed token (HTTP $code)"

LAYER=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"])' "$T/direct-big/manifest.json")
start_proxy slowlink "$up_PORT"
start_op slow "http://127.0.0.1:$slowlink_PORT"
: >"$T/iss-tokens.log"
# 4 MB/s, every connection cut 16 MB in: the first layer download ends >= 4 s after its token
# (2 s) was issued; once Outpost says it resumes, the link is fast again.
echo "rate 4000000 cut 16000000" >"$slowlink_CTL"
up_mark=$(($(wc -l <"$T/up.log") + 1))  # the registry's log lines of this pull start here
start=$(date +%s%N)
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$slow_PORT/docker.io/library/big:v1" "dir:$T/slow-big" \
  >"$T/slow-pull.log" 2>&1 &
pull_pid=$!
PIDS+=("$pull_pid")
wait_log "$T/slow.log" "fetch of $LAYER from docker.io: .*retrying from byte [1-9]" 60 ||
  die "the cut layer download was not resumed: $(grep -i "$LAYER" "$T/slow.log" | tail -5)"
echo pass >"$slowlink_CTL"
wait "$pull_pid" || die "pull of library/big across the token's expiry failed: $(cat "$T/slow-pull.log")"
unset 'PIDS[-1]'  # the pull has ended: its PID is not ours to signal any more
log "library/big pulled in $((($(date +%s%N) - start) / 1000000)) ms: $(grep -o "fetch of $LAYER from docker.io: .*" "$T/slow.log" | sed -n 1p)"
same "$T/direct-big" "$T/slow-big" "library/big across the token's expiry"
n=$(token_lines iss anonymous repository:library/big:pull)
((n >= 2)) || die "the resume got no fresh token ($n token requests): $(cat "$T/iss-tokens.log")"
tail -n "+$up_mark" "$T/up.log" >"$T/up-slow.log"
gets=$(grep -o "\"GET /v2/library/big/blobs/$LAYER HTTP/1.1\" [0-9]*" "$T/up-slow.log" | awk '{print $NF}' | tr '\n' ' ')
[[ $gets == *206* ]] || die "the layer was not resumed with Range upstream (its GETs answered: $gets)"
log "token requests for library/big: $n; the layer's GETs upstream answered: $gets"
if grep -q "token not to be used after" "$T/up-slow.log"; then
  log "(Outpost resumed with the lapsed token first; the registry refused it and Outpost took a new one)"
fi
: >"$T/iss.ctl"
stop_pid "$slow_PID"

# ---------------------------------------------------------------------------------------------
log "4. a challenge without scope: Outpost names the scope itself"
start_recording_proxy noscoperp "$up_PORT"
echo strip-scope >"$noscoperp_CTL"
curl -sI "http://127.0.0.1:$noscoperp_PORT/v2/library/app/manifests/v1" | tr -d '\r' >"$T/challenge"
grep -qi "^www-authenticate: Bearer realm=\"$iss_REALM\",service=\"$SERVICE\"$" "$T/challenge" ||
  die "the proxy's challenge is not scope-less: $(cat "$T/challenge")"
start_op noscope "http://127.0.0.1:$noscoperp_PORT"
: >"$T/iss-tokens.log"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$noscope_PORT/docker.io/library/app:v1" "dir:$T/noscope-app" ||
  die "pull with scope-less challenges failed"
same "$T/direct-app" "$T/noscope-app" "library/app with scope-less challenges"
grep -q '^GET /v2/library/app/manifests/v1 401 auth=-$' "$T/noscoperp-requests.log" ||
  die "Outpost was never challenged: $(cat "$T/noscoperp-requests.log")"
grep -q " account=anonymous service=$SERVICE scope=repository:library/app:pull granted=repository:library/app:pull " "$T/iss-tokens.log" ||
  die "Outpost did not ask for repository:library/app:pull itself: $(cat "$T/iss-tokens.log")"
grep -q " scope=- " "$T/iss-tokens.log" && die "Outpost asked for a token without scope: $(cat "$T/iss-tokens.log")"
stop_pid "$noscope_PID"

# ---------------------------------------------------------------------------------------------
log "5. a realm on another host (127.0.0.2): the credentials go there, and nowhere else"
start_issuer iss2 127.0.0.2
start_token_registry up2 "$iss2_REALM" "$T/up/data"  # the same content, another realm
start_recording_proxy farrp "$up2_PORT"
curl -sI "http://127.0.0.1:$farrp_PORT/v2/team/secret/manifests/v1" | tr -d '\r' >"$T/challenge"
grep -qi "^www-authenticate: Bearer realm=\"$iss2_REALM\"" "$T/challenge" ||
  die "unexpected challenge of up2: $(cat "$T/challenge")"
start_op far "http://127.0.0.1:$farrp_PORT" creds
: >"$T/iss-tokens.log"
: >"$T/farrp-requests.log"
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$far_PORT/docker.io/team/secret:v1" "dir:$T/far-secret" ||
  die "pull of team/secret with a realm on 127.0.0.2 failed"
same "$T/direct-secret" "$T/far-secret" "team/secret with a realm on 127.0.0.2"
grep -q " host=127.0.0.2:$iss2_PORT account=robot service=$SERVICE scope=repository:team/secret:pull granted=repository:team/secret:pull " \
  "$T/iss2-tokens.log" || die "robot's credentials did not reach the realm on 127.0.0.2: $(cat "$T/iss2-tokens.log")"
grep -q " account=\(anonymous\|refused\) " "$T/iss2-tokens.log" &&
  die "a token request to the realm was not authenticated as robot: $(cat "$T/iss2-tokens.log")"
[[ ! -s $T/iss-tokens.log ]] || die "Outpost asked another token service than the realm: $(cat "$T/iss-tokens.log")"
grep -q ' auth=Bearer ' "$T/farrp-requests.log" || die "no bearer token reached up2: $(cat "$T/farrp-requests.log")"
grep -qi ' auth=Basic' "$T/farrp-requests.log" && die "the credentials reached the registry: $(grep -i ' auth=Basic' "$T/farrp-requests.log")"

log "the password is in no log line"
secret_in_no_log "$SECRET" "$T"/anon.log "$T"/robot.log "$T"/slow.log "$T"/noscope.log "$T"/far.log \
  "$T"/*-requests.log "$T"/up.log "$T"/up2.log "$T"/*-tokens.log

# ---------------------------------------------------------------------------------------------
log "6. the token service refuses (anonymous asking for a private repository, as ghcr.io answers"
log "   it; a wrong password): an answer about access, as with basic auth, not an outage"
# refused_thrice NAME REPO: Outpost NAME answers each of three manifest GETs of REPO with a 502
# that names the refusal (HTTP 401), as registry_auth.sh expects of a basic-auth refusal.
refused_thrice() {
  local port_var=${1}_PORT code
  for i in 1 2 3; do
    code=$(curl -s -o "$T/refused.json" -w '%{http_code}' -H "Accept: $ACCEPT" \
      "http://127.0.0.1:${!port_var}/v2/docker.io/$2/manifests/v1")
    [[ $code == 502 ]] && grep -q 'HTTP 401' "$T/refused.json" ||
      die "$1, try $i of $2: HTTP $code $(cat "$T/refused.json") (want 502 naming the refusal)"
  done
  log "$1: $2 answered HTTP 502 $(cat "$T/refused.json")"
}
# not_marked_down NAME: Outpost NAME never counted its docker.io upstream as failing.
not_marked_down() {
  local port_var=${1}_PORT
  ! grep -q "upstream docker.io .*marked down" "$T/$1.log" ||
    die "a refusal by the token service marked docker.io down: $(grep -m1 'marked down' "$T/$1.log")"
  curl -fsS "http://127.0.0.1:${!port_var}/api/v1/status" | python3 -c '
import json, sys
u = [u for u in json.load(sys.stdin)["upstreams"] if u["name"] == "docker.io"][0]
assert u["up"] and u["failures"] == 0, u' || die "$1's status API counts docker.io as failing"
}

echo "refuse 401" >"$T/iss.ctl"
start_op anon6 "http://127.0.0.1:$up_PORT"
: >"$T/iss-tokens.log"
refused_thrice anon6 team/secret
grep -q " account=anonymous service=$SERVICE scope=repository:team/secret:pull denied=repository:team/secret:pull expires_in=300 status=401$" \
  "$T/iss-tokens.log" || die "the issuer did not refuse team/secret to anonymous: $(cat "$T/iss-tokens.log")"
not_marked_down anon6
skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$anon6_PORT/docker.io/library/web:v1" "dir:$T/anon6-web" ||
  die "after a refused private repository, a public one could not be pulled"
same "$T/direct-web" "$T/anon6-web" "library/web after a refusal"
: >"$T/iss.ctl"

printf 'wrong\n' >"$T/password.wrong"
write_outpost_config "$T/wrongpw.yaml" "$(free_port)" "$T/wrongpw-data" docker.io "http://127.0.0.1:$up_PORT"
upstream_credentials "$T/wrongpw.yaml" "$SECRET"
sed -i "s|password_file: .*|password_file: $T/password.wrong|" "$T/wrongpw.yaml"
start_outpost wrongpw "$T/wrongpw.yaml"
: >"$T/iss-tokens.log"
refused_thrice wrongpw team/secret
grep -q " account=refused service=$SERVICE scope=repository:team/secret:pull expires_in=300 status=401$" "$T/iss-tokens.log" ||
  die "the issuer did not refuse the wrong password: $(cat "$T/iss-tokens.log")"
not_marked_down wrongpw
secret_in_no_log "$SECRET" "$T"/anon6.log "$T"/wrongpw.log "$T"/*-tokens.log
log "ok"
