# Shared helpers for the integration tests. Each test sources this, gets a private temp dir
# ($T), starts the real peers it needs on free loopback ports, and everything it started is
# stopped by PID on exit.
set -euo pipefail
T=$(mktemp -d "${TMPDIR:-/tmp}/outpost-it.XXXXXX")
PIDS=()
OUTPOST_BIN=${OUTPOST_BIN:?set by ctest}
TOOLS=${TEST_TOOLS:?set by ctest}
KEEP=${KEEP_TEST_DIR:-}
# Every process this test starts inherits this mark; on exit, any still running is a leak: it is
# killed and the test fails (whatever else happened), so no test can leave a daemon behind.
export OUTPOST_TEST_RUN=$T

CLEANUP_CMDS=()  # run last on exit (e.g. deleting network namespaces a test made)

cleanup() {
  local rc=$?
  # What the test started, with their children (a backgrounded shell function or loop is a
  # subshell whose child does the work), collected before anything is signalled.
  local all=() pid
  for pid in "${PIDS[@]}"; do all+=("$pid" $(descendants "$pid")); done
  for pid in "${all[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${all[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  local left
  left=$(python3 "$TOOLS/leftovers.py" --kill OUTPOST_TEST_RUN "$T")
  if [[ -n $left ]]; then
    echo "--- FAIL: the test left processes running (killed now):" >&2
    echo "$left" >&2
    [[ $rc -ne 0 ]] || rc=1
  fi
  if [[ $rc -ne 0 ]]; then
    echo "--- test failed (rc=$rc); logs in $T:" >&2
    for f in "$T"/*.log; do [[ -f $f ]] && { echo "=== $f" >&2; tail -n 40 "$f" >&2; }; done
  fi
  for c in "${CLEANUP_CMDS[@]}"; do eval "$c" 2>/dev/null || true; done
  [[ -n $KEEP || $rc -ne 0 ]] || rm -rf "$T"
  exit $rc
}
trap cleanup EXIT

descendants() {
  local kid
  for kid in $(pgrep -P "$1" 2>/dev/null); do echo "$kid"; descendants "$kid"; done
}

# grep_q ARGS…: `grep -q` for the end of a pipeline. It reads its whole input, so the command
# before it never gets SIGPIPE (with pipefail, `cmd | grep -q x` fails at random when grep exits at
# the first match while cmd still writes). tests/tools/lint_pipes.sh keeps `| grep -q` out.
grep_q() { grep "$@" >/dev/null; }
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
free_port() { python3 "$TOOLS/free_port.py"; }

# wait_http URL [tries]: until the URL answers at all (any status).
wait_http() {
  local url=$1 tries=${2:-100}
  for _ in $(seq "$tries"); do
    curl -s -o /dev/null --max-time 1 "$url" && return 0
    sleep 0.1
  done
  die "nothing answers at $url"
}

# started NAME PID PORT URL: a daemon just started in the background (PID is its $!) is stopped on
# exit; sets ${NAME}_PID and ${NAME}_PORT and waits until URL answers.
started() {
  PIDS+=("$2")
  printf -v "${1}_PID" '%s' "$2"
  printf -v "${1}_PORT" '%s' "$3"
  wait_http "$4"
}

# start_registry NAME [ADDR]: a real docker-registry (distribution) on a free port of ADDR
# (default 127.0.0.1); sets ${NAME}_PORT, ${NAME}_PID and logs to $T/NAME.log (its access log
# counts upstream requests).
# REGISTRY_DATA (another registry's storage, to serve the same content) and REGISTRY_EXTRA_YAML
# (top-level sections, e.g. auth) adjust it.
start_registry() {
  local name=$1 addr=${2:-127.0.0.1} port dir
  port=$(free_port)
  dir=$T/$name
  local data=${REGISTRY_DATA:-$dir/data}
  mkdir -p "$dir" "$data"
  cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $data
  delete:
    enabled: true
http:
  addr: $addr:$port
${REGISTRY_EXTRA_YAML:-}
YAML
  docker-registry serve "$dir/config.yml" >"$T/$name.log" 2>&1 &
  started "$name" $! "$port" "http://$addr:$port/v2/"
}

# start_app_registry: the registry "up" with test/app:v1 (2 layers of 2 MB) and test/app:multi
# (linux/amd64 and linux/arm64, 1 layer each), made in $T/layout.
start_app_registry() {
  start_registry up
  python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 2 --layers 2 >/dev/null
  python3 "$TOOLS/make_image.py" "$T/layout" multi --layer-mb 1 --layers 1 --platforms linux/amd64,linux/arm64 >/dev/null
  push_image "$T/layout" v1 "$up_PORT" test/app
  push_image "$T/layout" multi "$up_PORT" test/app --all
}

skopeo_() {
  skopeo --policy "$T/policy.json" "$@"
}
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$T/policy.json"

# push_image LAYOUT_DIR TAG REGISTRY_PORT REPO [--all]
push_image() {
  local layout=$1 tag=$2 port=$3 repo=$4
  shift 4
  skopeo_ copy -q "$@" --dest-tls-verify=false "oci:$layout:$tag" "docker://127.0.0.1:$port/$repo:$tag" >/dev/null
}

# shop_images V1_MB V2_MB: the images of the release bundle tests, made in $T/layout: v1 (2 layers
# of V1_MB MB), multi (linux/amd64 and linux/arm64) and v2 (1 layer of V2_MB MB, other bytes).
# v1 and multi are pushed to the registry `up` as test/app1:v1 and test/app2:multi and copied
# from it to $T/direct-app1:v1 and $T/direct-app2:multi (what offline pulls must match);
# push_shop_v2 does the same for v2 as test/app1:v2.
shop_images() {
  python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb "$1" --layers 2 >/dev/null
  python3 "$TOOLS/make_image.py" "$T/layout" multi --layer-mb 1 --layers 1 --platforms linux/amd64,linux/arm64 >/dev/null
  python3 "$TOOLS/make_image.py" "$T/layout" v2 --layer-mb "$2" --layers 1 --seed other >/dev/null
  push_shop_image v1 app1
  push_shop_image multi app2 --all
}
push_shop_v2() { push_shop_image v2 app1; }
push_shop_image() {  # push_shop_image TAG APP [push args]: as test/APP:TAG, copied to $T/direct-APP:TAG
  push_image "$T/layout" "$1" "$up_PORT" "test/$2" "${@:3}"
  skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$up_PORT/test/$2:$1" "dir:$T/direct-$2:$1"
}

# shop_pulls_offline CONFIG DATA: an Outpost on CONFIG (upstream stopped) serves app1:v1,
# app2:multi and app1:v2 byte-identical to $T/direct-*; stopped, `outpost fsck` finds DATA clean.
shop_pulls_offline() {
  local img
  start_outpost op "$1"
  for img in app1:v1 app2:multi app1:v2; do
    skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$op_PORT/upstream.test/test/$img" "dir:$T/offline-$img" ||
      die "offline pull of $img"
    diff -r "$T/direct-$img" "$T/offline-$img" >/dev/null || die "offline $img differs from upstream"
  done
  stop_pid "$op_PID"
  "$OUTPOST_BIN" fsck --data-dir "$2" >"$T/fsck" || die "fsck after imports: $(cat "$T/fsck")"
}

# trust_release_key CONFIG: a new ed25519 key pair ($T/release.key, $T/release.pub) whose public
# key CONFIG's bundle.trust_keys trusts.
trust_release_key() {
  openssl genpkey -algorithm ed25519 -out "$T/release.key" 2>/dev/null
  openssl pkey -in "$T/release.key" -pubout -out "$T/release.pub"
  printf 'bundle:\n  trust_keys: [%s]\n' "$T/release.pub" >>"$1"
}

# push_test_image REPO TAG LAYER_MB LAYERS: an image made in $T/layout (LAYERS layers of LAYER_MB MB)
# pushed to the registry `up` as REPO:TAG. Sets LAYER: its largest layer as the registry stores it.
push_test_image() {
  python3 "$TOOLS/make_image.py" "$T/layout" "$2" --layer-mb "$3" --layers "$4" >/dev/null
  push_image "$T/layout" "$2" "$up_PORT" "$1"
  LAYER=$(upstream_layers "$up_PORT" "$1" "$2" | sed -n 1p)
}

# write_outpost_config FILE PORT DATA UPSTREAM_NAME UPSTREAM_URL [extra registry yaml lines]
write_outpost_config() {
  local file=$1 port=$2 data=$3 uname=$4 uurl=$5
  shift 5
  {
    echo "listen: 127.0.0.1:$port"
    echo "data_dir: $data"
    echo "registry:"
    echo "  default_upstream: $uname"
    echo "  upstream_timeout: 2s"
    echo "  breaker_min_backoff: 500ms"
    echo "  breaker_max_backoff: 2s"
    for l in "$@"; do echo "  $l"; done
    echo "  upstreams:"
    echo "    - name: $uname"
    echo "      url: $uurl"
    echo "      insecure: true"
  } >"$file"
}

# start_registry_outpost UPSTREAM_URL: Outpost "op" on port $OP (config $T/outpost.yaml, data
# $T/data) with one registry upstream, upstream.test at UPSTREAM_URL.
start_registry_outpost() {
  OP=$(free_port)
  write_outpost_config "$T/outpost.yaml" "$OP" "$T/data" upstream.test "$1"
  start_outpost op "$T/outpost.yaml"
}

# upstream_credentials CONFIG SECRET: the last upstream of CONFIG is reached as user robot with
# password SECRET (in $T/password), and Outpost logs at debug level, so a test can show the secret
# is in no log line (secret_in_no_log).
upstream_credentials() {
  printf '%s\n' "$2" >"$T/password"
  printf '      username: robot\n      password_file: %s\n' "$T/password" >>"$1"
  sed -i 's/^listen:/log: {level: debug}\nlisten:/' "$1"
}

# secret_in_no_log SECRET FILE…: neither SECRET nor robot's Basic credentials for it are in FILE…
secret_in_no_log() {
  local secret=$1
  shift
  grep -rqs "$secret" "$@" && die "the secret is in $*"
  grep -rqs "$(printf 'robot:%s' "$secret" | base64)" "$@" && die "Basic credentials are in $*"
  return 0
}

# start_outpost NAME CONFIG: sets ${NAME}_PORT (from the config) and ${NAME}_PID.
start_outpost() {
  local name=$1 config=$2 port
  port=$(sed -n 's/^listen: .*:\([0-9]*\)$/\1/p' "$config")
  "$OUTPOST_BIN" serve --config "$config" >>"$T/$name.log" 2>&1 &
  started "$name" $! "$port" "http://127.0.0.1:$port/healthz"
}

# stop_pid PID [SIGNAL]
stop_pid() {
  local pid=$1 sig=${2:-TERM}
  kill -"$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# metric NAME_WITH_LABELS PORT: the value of one Prometheus sample (0 when absent)
metric() {
  curl -s "http://127.0.0.1:$2/metrics" | awk -v k="$1" '$1==k {print $2; found=1} END {if (!found) print 0}'
}

# Elapsed wall time of a command in ms (for logs only; tests never fail on time).
elapsed_ms() {
  local s e
  s=$(date +%s%N)
  "$@" >/dev/null
  e=$(date +%s%N)
  echo $(((e - s) / 1000000))
}

# start_containerd: a private containerd (root, state, socket under $T). Sets CTRD_SOCK and
# CTRD_CONFIG (its config.toml); CTRD_EXTRA (TOML) is appended to it.
start_containerd() {
  mkdir -p "$T/ctrd/root" "$T/ctrd/state"
  CTRD_SOCK=$T/ctrd/containerd.sock
  cat >"$T/ctrd/config.toml" <<TOML
version = 2
root = "$T/ctrd/root"
state = "$T/ctrd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_SOCK.ttrpc"
[debug]
  address = "$CTRD_SOCK.debug"
[metrics]
  address = ""
${CTRD_EXTRA:-}
TOML
  CTRD_CONFIG=$T/ctrd/config.toml
  containerd --config "$T/ctrd/config.toml" >"$T/containerd.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 100); do
    ctr -a "$CTRD_SOCK" version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "containerd did not start"
}

# containerd_hosts REGISTRY OUTPOST_PORT: the hosts.toml `outpost node-config` generates for
# REGISTRY. Run without a config, so its fallback server is https://REGISTRY, a name that does
# not resolve here: only Outpost can answer. Sets HOSTS_DIR.
containerd_hosts() {
  "$OUTPOST_BIN" node-config --server "http://127.0.0.1:$2" --registries "$1" --format containerd \
    --out "$T/nodecfg" 2>/dev/null || die "node-config failed"
  HOSTS_DIR=$T/nodecfg/containerd/certs.d
  grep -q "server = \"https://$1\"" "$HOSTS_DIR/$1/hosts.toml" || die "unexpected hosts.toml: $(cat "$HOSTS_DIR/$1/hosts.toml")"
}

# ctr_pull REF: pull and unpack (native snapshotter) through the hosts.toml mirror.
ctr_pull() {
  ctr -a "$CTRD_SOCK" -n outpost-test images pull --hosts-dir "$HOSTS_DIR" --snapshotter native "$@" >>"$T/ctr.log" 2>&1
}
ctr_rmi() {
  ctr -a "$CTRD_SOCK" -n outpost-test images rm --sync "$@" >/dev/null 2>&1 || true
  ctr -a "$CTRD_SOCK" -n outpost-test content prune references >/dev/null 2>&1 || true
}

# start_proxy NAME TARGET_PORT: the fault-injecting proxy in front of 127.0.0.1:TARGET_PORT.
# Sets ${NAME}_PORT and ${NAME}_CTL (write a mode there: pass, blackhole, rate N, cut N, ...).
start_proxy() {
  local name=$1 target=$2 port
  port=$(free_port)
  echo pass >"$T/$name.ctl"
  python3 "$TOOLS/fault_proxy.py" --listen "$port" --target "127.0.0.1:$target" --control "$T/$name.ctl" \
    --log "$T/$name.conns" \
    >"$T/$name.log" 2>&1 &
  PIDS+=("$!")
  printf -v "${name}_PORT" '%s' "$port"
  printf -v "${name}_CTL" '%s' "$T/$name.ctl"
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0; sleep 0.1; done
  die "proxy did not start"
}

# start_recording_proxy NAME TARGET_PORT: tools/recording_proxy.py in front of 127.0.0.1:TARGET_PORT
# (a hub, as its sites see it). Sets ${NAME}_PORT and ${NAME}_CTL (pass | corrupt-blobs); every
# request it forwards is a line in $T/NAME-requests.log (method, path, status, Authorization).
start_recording_proxy() {
  local name=$1 port
  port=$(free_port)
  echo pass >"$T/$name.ctl"
  python3 "$TOOLS/recording_proxy.py" --listen "$port" --target "http://127.0.0.1:$2" \
    --log "$T/$name-requests.log" --control "$T/$name.ctl" >"$T/$name.log" 2>&1 &
  PIDS+=("$!")
  printf -v "${name}_PORT" '%s' "$port"
  printf -v "${name}_CTL" '%s' "$T/$name.ctl"
  wait_http "http://127.0.0.1:$port/healthz"
}

# shop_v1_and_hub: the origin registry "up" with the shop images, release shop v1 of app1:v1 and
# app2:multi written to $T/v1.tar and pushed to oci://upstream.test/bundles/shop:v1 ($T/create.log
# names the pushed digest), and a hub config $T/hub.yaml on port $HUB with the origin upstream.
shop_v1_and_hub() {
  start_registry up
  shop_images 2 1
  write_outpost_config "$T/create.yaml" "$(free_port)" "$T/create-data" upstream.test "http://127.0.0.1:$up_PORT"
  "$OUTPOST_BIN" bundle create --config "$T/create.yaml" --name shop --version v1 \
    --image upstream.test/test/app1:v1 --image upstream.test/test/app2:multi -o "$T/v1.tar" \
    --push oci://upstream.test/bundles/shop:v1 2>"$T/create.log" || die "create: $(cat "$T/create.log")"
  HUB=$(free_port)
  write_outpost_config "$T/hub.yaml" "$HUB" "$T/hub-data" upstream.test "http://127.0.0.1:$up_PORT"
}

# cluster_yaml ADVERTISE MEMBERSHIP: a replica's cluster section (MEMBERSHIP is its `peers: […]` or
# `peers_dns: …` line) and the peer token every replica of the test shares ($T/peer-token, also
# $PEER_TOKEN): replicas admit each other's peer headers by it, and nothing else.
cluster_yaml() {
  [[ -s $T/peer-token ]] || od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$T/peer-token"
  PEER_TOKEN=$(cat "$T/peer-token")
  printf 'cluster:\n  advertise: %s\n  %s\n' "$1" "$2"
  printf 'auth:\n  tokens:\n    - name: peers\n      token_file: %s\n      groups: [peer]\n' "$T/peer-token"
}

# start_cluster UPSTREAM_URL: three Outpost replicas r1..r3 of one site cluster (static peers),
# each with upstream.test at UPSTREAM_URL and its data in $T/rI-data; P[I] are their ports and
# URLS[I] their URLs; $CLUSTER_YAML, when set, is appended to each config, and the lines of the
# array REPLICA_REGISTRY to its registry section. start_replica I (re)starts one of them.
start_cluster() {
  CLUSTER_UPSTREAM=$1
  P=("" "$(free_port)" "$(free_port)" "$(free_port)")
  URLS=("" "http://127.0.0.1:${P[1]}" "http://127.0.0.1:${P[2]}" "http://127.0.0.1:${P[3]}")
  local i
  for i in 1 2 3; do start_replica "$i"; done
}
start_replica() {
  local i=$1
  write_outpost_config "$T/r$i.yaml" "${P[$i]}" "$T/r$i-data" upstream.test "$CLUSTER_UPSTREAM" \
    ${REPLICA_REGISTRY[@]+"${REPLICA_REGISTRY[@]}"}
  cluster_yaml "${URLS[$i]}" "peers: [${URLS[1]}, ${URLS[2]}, ${URLS[3]}]" >>"$T/r$i.yaml"
  [[ -z ${CLUSTER_YAML:-} ]] || printf '%s\n' "$CLUSTER_YAML" >>"$T/r$i.yaml"
  start_outpost "r$i" "$T/r$i.yaml"
}

# site_behind_hub mirror|upstream: a recording proxy "hubrp" in front of the hub on $HUB, and a site
# Outpost "site" on $SITE whose upstream.test is the origin on $up_PORT, with the hub as its
# mirror or as a second upstream named hub.test. The site pulls app1:v1 (defines pull) and $held
# lists the blobs it then holds.
site_behind_hub() {
  start_recording_proxy hubrp "$HUB"
  SITE=$(free_port)
  write_outpost_config "$T/site.yaml" "$SITE" "$T/site-data" upstream.test "http://127.0.0.1:$up_PORT"
  if [[ $1 == mirror ]]; then
    printf '      mirrors:\n        - url: http://127.0.0.1:%s\n          insecure: true\n' "$hubrp_PORT"
  else
    printf '    - name: hub.test\n      url: http://127.0.0.1:%s\n      insecure: true\n' "$hubrp_PORT"
  fi >>"$T/site.yaml"
  start_outpost site "$T/site.yaml"
  pull() { skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.1:$SITE/upstream.test/test/$1" "dir:$T/$2"; }
  pull app1:v1 site-app1 || die "site pull of app1"
  held=$(find "$T/site-data/blobs" -type f -printf '%f\n' | sort)
}

# site_takes_shop_v1 SOURCE: with the origin stopped, one `bundle ensure` makes the site take shop
# v1 from SOURCE, through the hub, fetching only blobs it did not hold.
site_takes_shop_v1() {
  log "origin stopped: the site takes shop v1 from the hub"
  stop_pid "$up_PID"
  : >"$T/hubrp-requests.log"
  "$OUTPOST_BIN" bundle ensure --server "http://127.0.0.1:$SITE" --source "$1" \
    --name shop --version v1 --timeout 2m 2>"$T/site-ensure.log" || die "site ensure: $(cat "$T/site-ensure.log")"
  fetched_only_missing "$T/hubrp-requests.log" "$held"
}

# site_serves_shop_v1_alone: with the hub stopped too, the site serves shop v1's images as the
# origin did.
site_serves_shop_v1_alone() {
  local img
  log "hub stopped too: the site serves the release's images"
  stop_pid "$hub_PID"
  for img in app1:v1 app2:multi; do
    pull "$img" "offline-$img" || die "offline pull of $img"
    diff -r "$T/direct-$img" "$T/offline-$img" >/dev/null || die "offline $img differs from the origin's"
  done
}

# fetched_only_missing REQUEST_LOG HELD: the blob GETs a recording proxy saw (a site taking a
# release from its hub) include none of HELD (blob hex digests, one per line), and at least one.
fetched_only_missing() {
  local method path d fetched=0
  while read -r method path _; do
    [[ $method == GET && $path == */blobs/sha256:* ]] || continue
    d=${path##*/blobs/sha256:}
    d=${d%%\?*}
    grep -qx "$d" <<<"$2" && die "the site fetched blob $d it already held"
    fetched=$((fetched + 1))
  done <"$1"
  ((fetched > 0)) || die "no blob came from the hub"
  log "the site fetched $fetched blobs from the hub and none of the $(wc -l <<<"$2") it held"
}

# upstream_gets REGISTRY_LOG PATH_FRAGMENT: how many GETs of it the upstream served
upstream_gets() {
  grep -c "\"GET [^\"]*$2[^\"]* HTTP" "$1" || true
}

# upstream_layers PORT REPO TAG: layer digests of an image manifest as the registry stores it
# (skopeo compresses layers on push, so the local layout's digests differ), largest first.
upstream_layers() {
  curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$1/v2/$2/manifests/$3" |
    python3 -c 'import json,sys; [print(l["digest"]) for l in sorted(json.load(sys.stdin)["layers"], key=lambda l: -l["size"])]'
}

# start_nginx NAME PORT WORKERS HTTP_BLOCK: nginx in the foreground with its pid, error log and
# temp paths under $T/NAME, HTTP_BLOCK (access_log, server { … }) inside http { }. Sets
# ${NAME}_PID; restart_nginx NAME PORT starts the same config again.
start_nginx() {
  local name=$1 port=$2 workers=$3 body=$4 dir=$T/$1
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<NGINX
worker_processes $workers;
user root;
pid $dir/nginx.pid;
error_log $dir/error.log;
daemon off;
events { worker_connections 1024; }
http {
  client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
$body
}
NGINX
  restart_nginx "$name" "$port"
}
restart_nginx() {
  nginx -c "$T/$1/nginx.conf" >>"$T/$1.log" 2>&1 &
  PIDS+=("$!")
  printf -v "${1}_PID" '%s' "$!"
  wait_http "http://${NGINX_HOST:-127.0.0.1}:$2/"  # NGINX_HOST: when it listens elsewhere
}

# make_veth: a network namespace of this test joined to the host by a veth pair on a private /30,
# so Outpost can listen on a non-loopback address (HOST_IP) that clients reach from the host
# (peer address HOST_IP) or from inside the namespace (PEER_IP, with `in_ns CMD…`). Removed on exit.
make_veth() {
  local n=$(($$ % 250 + 2))
  NS=outpost-it-$$
  HOST_IP=10.231.$n.1
  PEER_IP=10.231.$n.2
  ip netns add "$NS"
  CLEANUP_CMDS+=("ip link del veth-o$$" "ip netns del $NS")
  ip link add "veth-o$$" type veth peer name "veth-p$$"
  ip link set "veth-p$$" netns "$NS"
  ip addr add "$HOST_IP/30" dev "veth-o$$"
  ip link set "veth-o$$" up
  ip netns exec "$NS" ip addr add "$PEER_IP/30" dev "veth-p$$"
  ip netns exec "$NS" ip link set "veth-p$$" up
  ip netns exec "$NS" ip link set lo up
}
in_ns() { ip netns exec "$NS" "$@"; }

# registry_yaml URL: a config's registry section with one upstream, upstream.test at URL
# (for configs written by other helpers, e.g. write_git_outpost_config).
registry_yaml() {
  printf 'registry:\n  default_upstream: upstream.test\n  upstreams:\n'
  printf '    - name: upstream.test\n      url: %s\n      insecure: true\n' "$1"
}

# start_chart_repo PORT BASE_URL: a classic Helm chart repository (tools/make_chart_repo.py) in
# $T/www served by nginx ("charts") on PORT; the absolute chart URLs of its index start with
# BASE_URL.
start_chart_repo() {
  python3 "$TOOLS/make_chart_repo.py" "$T/www" "$2"
  start_nginx charts "$1" 1 "  access_log $T/charts-access.log;
  server { listen 127.0.0.1:$1; root $T/www; }"
}

# helm_yaml URL [LINE…]: a config's helm section (LINEs as its keys) with one upstream,
# charts.test at URL.
helm_yaml() {
  local url=$1 l
  shift
  printf 'helm:\n'
  for l in "$@"; do printf '  %s\n' "$l"; done
  printf '  upstreams:\n    - host: charts.test\n      url: %s\n      insecure: true\n' "$url"
}

# start_rgw: a Ceph cluster of one mon and one memstore OSD (pool size 1, cephx off, every address
# 127.0.0.1) and radosgw (beast) on a free port, all under $T/ceph, with an S3 user. Ready in
# about 12 s. Sets RGW_PORT, RGW_URL, RGW_CONF, RGW_AK, RGW_SK and rgw_PID; stop_rgw and
# restart_rgw stop and start radosgw alone (memstore keeps the data while the OSD runs).
start_rgw() {
  local c=$T/ceph mon fsid osd osd_uuid
  mkdir -p "$c/mon" "$c/osd" "$c/run"
  mon=$(free_port)
  RGW_PORT=$(free_port)
  RGW_URL=http://127.0.0.1:$RGW_PORT
  RGW_CONF=$c/ceph.conf
  RGW_AK=OUTPOSTTESTKEY
  RGW_SK=outpost-test-secret-$RANDOM
  fsid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$RGW_CONF" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon
mon initial members = a
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
public addr = 127.0.0.1
cluster addr = 127.0.0.1
run dir = $c/run
admin socket = $c/run/\$name.asok
log file = $c/\$name.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd objectstore = memstore
osd fast shutdown = false
memstore device bytes = 2147483648
[mon.a]
mon data = $c/mon
[osd.0]
osd data = $c/osd
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw gc obj min wait = 5
rgw gc processor period = 5
CONF
  monmaptool --create --addv a "[v1:127.0.0.1:$mon]" --fsid "$fsid" "$c/monmap" >/dev/null
  ceph-mon -c "$RGW_CONF" --mkfs -i a --monmap "$c/monmap" >"$c/mkfs.log" 2>&1 || die "ceph-mon --mkfs: $(cat "$c/mkfs.log")"
  ceph-mon -c "$RGW_CONF" -i a -f >"$T/ceph-mon.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 150); do timeout 5 ceph -c "$RGW_CONF" -s >/dev/null 2>&1 && break; sleep 0.2; done
  # The OSD's uuid is chosen here and given to both: an OSD that made its own at --mkfs is
  # sometimes refused by the mon at boot ("wrong fsid"), and radosgw then waits forever.
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  osd=$(ceph -c "$RGW_CONF" osd create "$osd_uuid") || die "ceph osd create"
  ceph-osd -c "$RGW_CONF" -i "$osd" --mkfs --osd-uuid "$osd_uuid" >>"$c/mkfs.log" 2>&1 ||
    die "ceph-osd --mkfs: $(cat "$c/mkfs.log")"
  # The OSD is up before radosgw starts (radosgw waits forever for a pool otherwise). Now and
  # then (about 1 start in 10 here) ceph-osd stops after "log_to_monitors" and never sends its
  # boot to the mon; a second start of the empty memstore OSD boots.
  local try
  for try in 1 2 3; do
    ceph-osd -c "$RGW_CONF" -i "$osd" -f >>"$T/ceph-osd.log" 2>&1 &
    PIDS+=("$!")
    osd_PID=$!
    for _ in $(seq 150); do
      timeout 5 ceph -c "$RGW_CONF" osd stat 2>/dev/null | grep_q "1 up" && break 2
      sleep 0.2
    done
    log "ceph-osd did not boot (start $try); starting it again"
    stop_pid "$osd_PID" KILL
  done
  timeout 5 ceph -c "$RGW_CONF" osd stat 2>/dev/null | grep_q "1 up" || die "ceph-osd never booted: $(tail -n 5 "$T/ceph-osd.log")"
  restart_rgw
  radosgw-admin -c "$RGW_CONF" user create --uid=outpost --display-name=outpost \
    --access-key="$RGW_AK" --secret="$RGW_SK" >/dev/null 2>&1 || die "radosgw-admin user create"
  export S3_ACCESS_KEY=$RGW_AK S3_SECRET_KEY=$RGW_SK
}
restart_rgw() {
  radosgw -c "$RGW_CONF" -n client.rgw -f >>"$T/radosgw.log" 2>&1 &
  PIDS+=("$!")
  rgw_PID=$!
  for _ in $(seq 300); do
    curl -s -o /dev/null "$RGW_URL/" && return 0
    kill -0 "$rgw_PID" 2>/dev/null || break
    sleep 0.2
  done
  die "radosgw did not start: $(tail -n 5 "$T/radosgw.log" "$T/ceph/client.rgw.log" 2>&1)"
}
stop_rgw() { stop_pid "$rgw_PID"; }

# start_postgres: a PostgreSQL 15 cluster of its own on a free loopback port (trust on the
# socket only; TCP logins need the password), with a database "outpost" owned by the superuser
# "outpost". Sets PG_PORT, PG_URL, PG_PASSWORD; stop_postgres / restart_postgres. initdb refuses
# root, so the server runs as the postgres user (setpriv execs it: its PID is the postmaster's).
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
start_postgres() {
  chmod 711 "$T"
  mkdir -p "$T/pg"
  chown postgres:postgres "$T/pg"
  PG_PASSWORD=pw-$RANDOM$RANDOM
  export PGPASSWORD_HUB=$PG_PASSWORD
  echo "$PG_PASSWORD" >"$T/pg/pwfile"
  chown postgres "$T/pg/pwfile"
  as_postgres "$PG_BIN/initdb" -D "$T/pg/data" -U outpost --pwfile="$T/pg/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$T/pg/initdb.log" 2>&1 ||
    die "initdb: $(tail -n 5 "$T/pg/initdb.log")"
  PG_PORT=$(free_port)
  PG_URL=postgresql://outpost@127.0.0.1:$PG_PORT/outpost
  restart_postgres
  PGPASSWORD=$PG_PASSWORD "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U outpost outpost ||
    die "createdb"
}
restart_postgres() {
  # setpriv run directly (not through the function: that would be a subshell), so $! is the
  # postmaster's PID.
  setpriv --reuid=postgres --regid=postgres --init-groups "$PG_BIN/postgres" -D "$T/pg/data" -p "$PG_PORT" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories="$T/pg" -c fsync=off -c full_page_writes=off \
    >>"$T/postgres.log" 2>&1 &
  PIDS+=("$!")
  pg_PID=$!
  for _ in $(seq 150); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && return 0
    kill -0 "$pg_PID" 2>/dev/null || break
    sleep 0.1
  done
  die "postgres did not start: $(tail -n 5 "$T/postgres.log")"
}
stop_postgres() { stop_pid "$pg_PID" INT; }  # fast shutdown: smart waits for the pool
# psql_q SQL: one statement as the superuser, its rows unaligned, no header.
psql_q() {
  PGPASSWORD=$PG_PASSWORD "$PG_BIN/psql" -X -q -A -t -h 127.0.0.1 -p "$PG_PORT" -U outpost \
    -d outpost -c "$1"
}

# hub_yaml S3_ENDPOINT [EXTRA_S3_LINES…]: the storage.s3 and metadata.postgres sections of a hub
# replica on the test's RGW bucket outpost-hub and PostgreSQL (start_rgw, start_postgres first:
# they export the credentials' variables it names).
hub_yaml() {
  local endpoint=$1 l
  shift
  printf 'storage:\n  s3:\n    endpoint: %s\n    bucket: outpost-hub\n' "$endpoint"
  printf '    access_key_env: S3_ACCESS_KEY\n    secret_key_env: S3_SECRET_KEY\n    insecure: true\n'
  printf '    timeout: 3s\n    max_attempts: 2\n'
  for l in "$@"; do printf '    %s\n' "$l"; done
  printf 'metadata:\n  postgres:\n    url: %s\n    password_env: PGPASSWORD_HUB\n' "$PG_URL"
  printf '    connect_timeout: 2s\n    retry_after: 1s\n'
}

# s3 METHOD BUCKET/KEY [curl args…]: one signed S3 request to RGW as the test user (the payload
# hash is UNSIGNED-PAYLOAD: RGW needs the header with curl's signing).
s3() {
  local method=$1 path=$2
  shift 2
  curl -s --aws-sigv4 "aws:amz:us-east-1:s3" --user "$RGW_AK:$RGW_SK" -X "$method" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@" "$RGW_URL/$path"
}
