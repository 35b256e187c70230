#!/usr/bin/env bash
# Three replicas of a site cluster, listed by `outpost node-config` as three hosts in containerd's
# hosts.toml, in front of a docker-registry origin. containerd pulls through the first replica;
# each thing cached there has a second copy on another replica. Then the origin is stopped and
# the first replica killed (kill -9): containerd still pulls every cached image, by tag and by
# digest, through the other two.
source "$(dirname "$0")/lib.sh"

start_app_registry

start_cluster "http://127.0.0.1:$up_PORT"
start_containerd
"$OUTPOST_BIN" node-config --server "http://127.0.0.1:${P[1]},http://127.0.0.1:${P[2]},http://127.0.0.1:${P[3]}" \
  --registries upstream.test --format containerd --out "$T/nodecfg" 2>/dev/null || die "node-config failed"
HOSTS_DIR=$T/nodecfg/containerd/certs.d
[[ $(grep -c '^\[host\.' "$HOSTS_DIR/upstream.test/hosts.toml") == 3 ]] ||
  die "hosts.toml does not list the 3 replicas: $(cat "$HOSTS_DIR/upstream.test/hosts.toml")"

log "online: containerd pulls through the first replica"
ctr_pull upstream.test/test/app:v1 || die "online pull of v1"
ctr_pull --platform linux/amd64 upstream.test/test/app:multi || die "online pull of multi"
v1_digest=$(skopeo_ inspect --raw --tls-verify=false "docker://127.0.0.1:${P[1]}/upstream.test/test/app:v1" | sha256sum | cut -d' ' -f1)

log "every blob replica 1 holds gets a second copy on replica 2 or 3"
copied() {
  local f h
  for f in "$T"/r1-data/blobs/sha256/*/*; do
    h=${f##*/}
    [[ -f $T/r2-data/blobs/sha256/${h:0:2}/$h || -f $T/r3-data/blobs/sha256/${h:0:2}/$h ]] || return 1
  done
}
for _ in $(seq 200); do copied && break; sleep 0.1; done
copied || die "some blob of replica 1 has no second copy"

log "origin stopped, replica 1 killed: containerd pulls through replicas 2 and 3"
stop_pid "$up_PID"
stop_pid "$r1_PID" KILL
ctr_rmi upstream.test/test/app:v1 upstream.test/test/app:multi "upstream.test/test/app@sha256:$v1_digest"
ctr_pull upstream.test/test/app:v1 || die "offline pull of v1 by tag"
ctr_pull "upstream.test/test/app@sha256:$v1_digest" || die "offline pull of v1 by digest"
ctr_pull --platform linux/amd64 upstream.test/test/app:multi || die "offline pull of multi by tag"
log "ok"
