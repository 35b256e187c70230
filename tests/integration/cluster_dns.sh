#!/usr/bin/env bash
# peers_dns goes through the system resolver: three replicas on 127.0.0.11-13 (one port) each run
# in a mount namespace whose /etc/hosts is a file this test writes. The name lists replicas 1 and
# 2; then replica 2 drops out of the records and replica 3 joins, and replica 1's membership
# follows within a few dns_interval. A pull through replica 1 then goes to its new peer.
source "$(dirname "$0")/lib.sh"

start_registry up
python3 "$TOOLS/make_image.py" "$T/layout" v1 --layer-mb 1 --layers 3 >/dev/null
push_image "$T/layout" v1 "$up_PORT" test/app
printf '127.0.0.11 outpost-peers\n127.0.0.12 outpost-peers\n' >"$T/hosts"

PORT=$(free_port)
for i in 1 2 3; do
  ip=127.0.0.1$i
  write_outpost_config "$T/r$i.yaml" "$PORT" "$T/r$i-data" upstream.test "http://127.0.0.1:$up_PORT"
  sed -i "s/^listen: .*/listen: $ip:$PORT/" "$T/r$i.yaml"
  cluster_yaml "http://$ip:$PORT" "peers_dns: outpost-peers:$PORT
  dns_interval: 1s" >>"$T/r$i.yaml"
  unshare -m sh -c 'mount --bind "$1" /etc/hosts && exec "$2" serve --config "$3"' sh \
    "$T/hosts" "$OUTPOST_BIN" "$T/r$i.yaml" >>"$T/r$i.log" 2>&1 &
  started "r$i" $! "$PORT" "http://$ip:$PORT/healthz"
done
members() {  # members [I]: the peers replica I (default 1) has now, sorted
  curl -fsS "http://127.0.0.1${1:-1}:$PORT/api/v1/status" |
    python3 -c 'import json,sys; print(" ".join(sorted(p["url"] for p in json.load(sys.stdin)["cluster"]["peers"] if p["member"])))'
}
[[ $(members) == "http://127.0.0.12:$PORT" ]] || die "replica 1's peers: '$(members)'"
log "replica 1 resolved its peer by name: $(members)"

log "replica 2 drops out of the records, replica 3 joins"
printf '127.0.0.11 outpost-peers\n127.0.0.13 outpost-peers\n' >"$T/hosts.new"
cat "$T/hosts.new" >"$T/hosts"  # the same file: the bind mounts see it
for _ in $(seq 100); do [[ $(members) == "http://127.0.0.13:$PORT" ]] && break; sleep 0.1; done
[[ $(members) == "http://127.0.0.13:$PORT" ]] || die "replica 1's peers after the change: '$(members)'"
log "replica 1 follows the records: $(members)"
# Replica 3 re-resolves on its own clock: until it has too, its second copy of what it fetched
# would still go to replica 2 (its peer under the old records).
for _ in $(seq 100); do [[ $(members 3) == "http://127.0.0.11:$PORT" ]] && break; sleep 0.1; done
[[ $(members 3) == "http://127.0.0.11:$PORT" ]] || die "replica 3's peers after the change: '$(members 3)'"

skopeo_ copy -q --src-tls-verify=false "docker://127.0.0.11:$PORT/upstream.test/test/app:v1" "dir:$T/pulled" ||
  die "pull through replica 1"
[[ -n $(grep -l 'ns=upstream.test' "$T/r3.log") ]] || die "replica 1 never asked its new peer, replica 3"
[[ -z $(grep -l 'ns=upstream.test' "$T/r2.log") ]] || die "replica 1 still asks replica 2"
log "ok"
