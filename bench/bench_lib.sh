# Shared start of the benchmarks in bench/: options, then the integration tests' helpers (lib.sh:
# a private $T, free loopback ports, every process started stopped on exit), sourced by
# bench_options once the options are good.
#
#   root=$(cd "$(dirname "$0")/.." && pwd)
#   source "$root/bench/bench_lib.sh"
#   bench_options "$0 [--sites N]" SITES=20 -- "$@"
set -euo pipefail
export OUTPOST_BIN=${OUTPOST_BIN:-$root/build/outpost} TEST_TOOLS=$root/tests/tools

# bench_options USAGE NAME=DEFAULT… -- ARGS…: sets each NAME to its default, then each
# `--name-with-dashes VALUE` in ARGS sets NAME_WITH_DASHES; anything else prints USAGE and exits 2.
bench_options() {
  local usage=$1 known=" " var
  shift
  while [[ $1 != -- ]]; do
    printf -v "${1%%=*}" '%s' "${1#*=}"
    known+="${1%%=*} "
    shift
  done
  shift
  while [[ $# -gt 0 ]]; do
    var=$(tr 'a-z-' 'A-Z_' <<<"${1#--}")
    if [[ $1 == --* && $# -ge 2 && $known == *" $var "* ]]; then
      printf -v "$var" '%s' "$2"
      shift 2
    else
      echo "usage: $usage" >&2
      exit 2
    fi
  done
  source "$root/tests/integration/lib.sh"
}

# start_proxy_registry NAME REMOTE_URL: docker-registry in proxy (pull-through) mode for
# REMOTE_URL, the peer Outpost's registry mirror replaces. Sets ${NAME}_PORT and ${NAME}_PID.
start_proxy_registry() {
  local name=$1 port dir=$T/$1
  port=$(free_port)
  mkdir -p "$dir/data"
  cat >"$dir/config.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $dir/data}}
http: {addr: 127.0.0.1:$port}
proxy: {remoteurl: $2}
YAML
  docker-registry serve "$dir/config.yml" >"$T/$name.log" 2>&1 &
  PIDS+=("$!")
  printf -v "${name}_PORT" '%s' "$port"
  printf -v "${name}_PID" '%s' "$!"
  wait_http "http://127.0.0.1:$port/v2/"
}
